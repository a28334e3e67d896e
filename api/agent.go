package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Agent is the endpoints about the agent answering the request.
type Agent struct{ c *Client }

// Agent returns the agent endpoints.
func (c *Client) Agent() *Agent { return &Agent{c: c} }

// Self describes the agent: its configuration, membership and stats.
func (a *Agent) Self() (*AgentSelf, error) {
	var out AgentSelf
	if _, err := a.c.query("/v1/agent/self", &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// Members lists the servers of the agent's region.
func (a *Agent) Members() (*ServerMembers, error) {
	var out ServerMembers
	if _, err := a.c.query("/v1/agent/members", &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// JoinResponse is /v1/agent/join's answer.
type JoinResponse struct {
	NumJoined int    `json:"num_joined"`
	Error     string `json:"error"`
}

// Join asks the agent's server to join the servers at addrs ("host:port").
// It returns how many answered; the error names each that did not, and why.
func (a *Agent) Join(addrs ...string) (int, error) {
	v := url.Values{"address": addrs}
	var out JoinResponse
	if _, err := a.c.write(http.MethodPut, "/v1/agent/join?"+v.Encode(), nil, &out, nil); err != nil {
		return 0, err
	}
	if out.Error != "" {
		return out.NumJoined, errors.New(out.Error)
	}
	return out.NumJoined, nil
}

// Health reports the agent's health. An unhealthy agent answers 500 with the
// same body, which is decoded too: the error is then nil and Healthy false.
func (a *Agent) Health() (*AgentHealthResponse, error) {
	r := a.c.newRequest(http.MethodGet, "/v1/agent/health")
	resp, err := a.c.do(context.Background(), r)
	if err != nil {
		if se, ok := err.(*StatusError); ok && se.Code == http.StatusInternalServerError {
			var out AgentHealthResponse
			if json.Unmarshal([]byte(se.Body), &out) == nil {
				return &out, nil
			}
		}
		return nil, err
	}
	defer resp.Body.Close()
	var out AgentHealthResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("decode agent health: %w", err)
	}
	return &out, nil
}
