package native

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// agent is the local agent's HTTP API.
type agent struct {
	base  string // http://host:port
	token string
	hc    *http.Client
}

// maxBody bounds what is read from the agent.
const maxBody = 4 << 20

func newAgent(addr, token string, hc *http.Client) *agent {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return &agent{base: strings.TrimRight(addr, "/"), token: token, hc: hc}
}

// do sends one request, decodes a 200 answer into out and returns the
// answer's blocking-query index (X-Consul-Index).
func (a *agent) do(ctx context.Context, method, path string, q url.Values, in, out any) (uint64, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	u := a.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, err
	}
	if a.token != "" {
		req.Header.Set("X-Consul-Token", a.token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	idx, _ := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
	if err := json.Unmarshal(b, out); err != nil {
		return 0, fmt.Errorf("%s %s: decode: %w", method, path, err)
	}
	return idx, nil
}

// blocking is the query of a blocking read after index idx.
func blocking(idx uint64) url.Values {
	if idx == 0 {
		return nil
	}
	return url.Values{"index": {strconv.FormatUint(idx, 10)}, "wait": {"5m"}}
}
