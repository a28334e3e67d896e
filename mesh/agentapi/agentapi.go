package agentapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/mesh/ca"
	"github.com/roam-sh/roam/structs"
)

// maxBody bounds what is read from the agent in one answer.
const maxBody = 4 << 20

// Client is the local agent's HTTP API.
type Client struct {
	base  string // scheme://host:port
	token string
	hc    *http.Client
}

// New returns a client of the agent at addr (host:port, or a URL), sending
// token (the task's workload identity) with every request.
func New(addr, token string, hc *http.Client) *Client {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: strings.TrimRight(addr, "/"), token: token, hc: hc}
}

// Do sends one request, decodes a 200 answer into out and returns the
// answer's blocking-query index (X-Consul-Index, or X-Nomad-Index).
func (c *Client) Do(ctx context.Context, method, path string, q url.Values, in, out any) (uint64, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, err
	}
	if c.token != "" {
		// Consul's clients send the first, roam's own the second.
		req.Header.Set("X-Consul-Token", c.token)
		req.Header.Set("X-Nomad-Token", c.token)
	}
	resp, err := c.hc.Do(req)
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
	if idx == 0 {
		idx, _ = strconv.ParseUint(resp.Header.Get("X-Nomad-Index"), 10, 64)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return 0, fmt.Errorf("%s %s: decode: %w", method, path, err)
	}
	return idx, nil
}

// Blocking adds a blocking read after index idx to q (a new query when q
// is nil); index 0 reads at once.
func Blocking(q url.Values, idx uint64) url.Values {
	if idx == 0 {
		return q
	}
	if q == nil {
		q = url.Values{}
	}
	q.Set("index", strconv.FormatUint(idx, 10))
	q.Set("wait", "5m")
	return q
}

// Roots reads the trust bundle once its index passes idx.
func (c *Client) Roots(ctx context.Context, idx uint64) (*ca.Roots, uint64, error) {
	var out structs.CARootList
	next, err := c.Do(ctx, http.MethodGet, "/v1/agent/connect/ca/roots", Blocking(nil, idx), nil, &out)
	if err != nil {
		return nil, 0, err
	}
	roots, err := ca.NewRoots(&out)
	if err != nil {
		return nil, 0, fmt.Errorf("roots: %w", err)
	}
	return roots, next, nil
}

// leafCert is the agent's answer for a leaf (Consul's LeafCert).
type leafCert struct {
	CertPEM       string
	PrivateKeyPEM string
}

// Leaf reads service's certificate and key once its index passes idx; q
// carries the namespace (ns) when there is one.
func (c *Client) Leaf(ctx context.Context, service string, q url.Values, idx uint64) (*tls.Certificate, uint64, error) {
	var out leafCert
	next, err := c.Do(ctx, http.MethodGet, "/v1/agent/connect/ca/leaf/"+url.PathEscape(service), Blocking(q, idx), nil, &out)
	if err != nil {
		return nil, 0, err
	}
	leaf, err := tls.X509KeyPair([]byte(out.CertPEM), []byte(out.PrivateKeyPEM))
	if err != nil {
		return nil, 0, fmt.Errorf("leaf: %w", err)
	}
	return &leaf, next, nil
}
