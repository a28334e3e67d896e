package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Operator is the cluster operator endpoints.
type Operator struct{ c *Client }

// Operator returns the operator endpoints.
func (c *Client) Operator() *Operator { return &Operator{c: c} }

// RaftConfiguration lists the servers of the Raft configuration.
func (o *Operator) RaftConfiguration(q *QueryOptions) (*RaftConfiguration, error) {
	var out RaftConfiguration
	if _, err := o.c.query("/v1/operator/raft/configuration", &out, q); err != nil {
		return nil, err
	}
	return &out, nil
}

// RaftRemovePeer removes a server from the Raft configuration by its ID
// (or, with byAddress, by its "ip:port").
func (o *Operator) RaftRemovePeer(peer string, byAddress bool) error {
	key := "id"
	if byAddress {
		key = "address"
	}
	_, err := o.c.write("DELETE", "/v1/operator/raft/peer?"+url.Values{key: {peer}}.Encode(), nil, nil, nil)
	return err
}

// AutopilotHealth is autopilot's view of every server's health. An
// unhealthy cluster answers 429 with the same body, decoded too.
func (o *Operator) AutopilotHealth(q *QueryOptions) (*OperatorHealthReply, error) {
	var out OperatorHealthReply
	_, err := o.c.query("/v1/operator/autopilot/health", &out, q)
	var se *StatusError
	if errors.As(err, &se) && se.Code == http.StatusTooManyRequests {
		if jerr := json.Unmarshal([]byte(se.Body), &out); jerr == nil {
			return &out, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// OperatorHealthReply is /v1/operator/autopilot/health: whether every
// server is healthy and how many voters the cluster can lose.
type OperatorHealthReply struct {
	Healthy          bool
	FailureTolerance int
	Servers          []ServerHealth
	Leader           string
	Voters           []string
}

// ServerHealth is one server's health; LastContact is a Go duration
// string on the wire ("12ms"), as in Nomad.
type ServerHealth struct {
	ID          string
	Name        string
	Address     string
	SerfStatus  string
	Version     string
	Leader      bool
	LastContact time.Duration
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	Voter       bool
	StableSince time.Time
}

type serverHealthJSON struct {
	LastContact string
	*serverHealthAlias
}

type serverHealthAlias ServerHealth

// MarshalJSON writes LastContact as a duration string.
func (h ServerHealth) MarshalJSON() ([]byte, error) {
	a := serverHealthAlias(h)
	return json.Marshal(serverHealthJSON{LastContact: h.LastContact.String(), serverHealthAlias: &a})
}

// UnmarshalJSON reads LastContact from a duration string.
func (h *ServerHealth) UnmarshalJSON(b []byte) error {
	aux := serverHealthJSON{serverHealthAlias: (*serverHealthAlias)(h)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	if aux.LastContact == "" {
		return nil
	}
	d, err := time.ParseDuration(aux.LastContact)
	if err != nil {
		return fmt.Errorf("LastContact: %w", err)
	}
	h.LastContact = d
	return nil
}

// SnapshotSave returns a consistent snapshot archive of the cluster's state
// (the caller closes it). See docs/cluster.md.
func (o *Operator) SnapshotSave(q *QueryOptions) (io.ReadCloser, error) {
	r := o.c.newRequest(http.MethodGet, "/v1/operator/snapshot")
	r.setQuery(q)
	resp, err := o.c.do(q.context(), r)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// SnapshotRestore replaces the cluster's state with an archive's.
func (o *Operator) SnapshotRestore(archive io.Reader) error {
	_, err := o.c.write(http.MethodPut, "/v1/operator/snapshot", archive, nil, nil)
	return err
}
