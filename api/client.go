package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultAddress is the agent address used when neither the configuration nor
// the environment names one.
const DefaultAddress = "http://127.0.0.1:4646"

// Environment variables the client reads. ROAM_* wins over the NOMAD_* name
// that Nomad users already have set.
const (
	EnvAddress        = "ROAM_ADDR"
	EnvNomadAddress   = "NOMAD_ADDR"
	EnvRegion         = "ROAM_REGION"
	EnvNomadRegion    = "NOMAD_REGION"
	EnvNamespace      = "ROAM_NAMESPACE"
	EnvNomadNamespace = "NOMAD_NAMESPACE"
	EnvToken          = "ROAM_TOKEN"
	EnvNomadToken     = "NOMAD_TOKEN"
)

// Config configures a Client. Zero fields take defaults (see NewClient).
type Config struct {
	// Address is the agent's HTTP address ("http://host:port"). Empty means
	// $ROAM_ADDR, then $NOMAD_ADDR, then DefaultAddress.
	Address string
	// Region and Namespace are sent with every request that does not set its
	// own. Empty leaves the choice to the agent.
	Region    string
	Namespace string
	// Token is sent as X-Nomad-Token.
	Token string
	// HTTPClient does the requests; nil means a client without a timeout
	// (blocking queries legitimately take minutes).
	HTTPClient *http.Client
	// TLS checks an HTTPS agent and offers a client certificate (tls.go);
	// ignored when HTTPClient is set.
	TLS *TLSConfig
}

// FromEnv picks the first non-empty value of the named variables, read with
// getenv (os.Getenv when nil).
func FromEnv(getenv func(string) string, names ...string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// AddressFromEnv returns $ROAM_ADDR, else $NOMAD_ADDR, else DefaultAddress.
func AddressFromEnv(getenv func(string) string) string {
	if a := FromEnv(getenv, EnvAddress, EnvNomadAddress); a != "" {
		return a
	}
	return DefaultAddress
}

// Client talks to one agent. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	cfg    Config
	httpc  *http.Client
	header http.Header
}

// NewClient returns a client for cfg.Address (or the environment's address).
func NewClient(cfg Config) (*Client, error) {
	if cfg.Address == "" {
		cfg.Address = AddressFromEnv(nil)
	}
	addr := cfg.Address
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("parse agent address %q: %w", cfg.Address, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("agent address %q: scheme must be http or https", cfg.Address)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("agent address %q has no host", cfg.Address)
	}
	httpc := cfg.HTTPClient
	switch {
	case httpc != nil:
	case !cfg.TLS.empty():
		if httpc, err = httpClientWithTLS(cfg.TLS); err != nil {
			return nil, fmt.Errorf("agent address %q: %w", cfg.Address, err)
		}
	default:
		httpc = &http.Client{}
	}
	return &Client{base: u, cfg: cfg, httpc: httpc, header: http.Header{}}, nil
}

// Address returns the agent address the client uses.
func (c *Client) Address() string { return c.base.String() }

// request is one API call being built.
type request struct {
	method string
	path   string
	params url.Values
	body   any
}

func (c *Client) newRequest(method, path string) *request {
	r := &request{method: method, path: path, params: url.Values{}}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		r.path = path[:i]
		r.params, _ = url.ParseQuery(path[i+1:])
	}
	if c.cfg.Region != "" {
		r.params.Set("region", c.cfg.Region)
	}
	if c.cfg.Namespace != "" {
		r.params.Set("namespace", c.cfg.Namespace)
	}
	return r
}

func (r *request) setQuery(q *QueryOptions) {
	if q == nil {
		return
	}
	set := func(k, v string) {
		if v != "" {
			r.params.Set(k, v)
		}
	}
	set("region", q.Region)
	set("namespace", q.Namespace)
	set("prefix", q.Prefix)
	set("filter", q.Filter)
	if q.WaitIndex > 0 {
		r.params.Set("index", strconv.FormatUint(q.WaitIndex, 10))
	}
	if q.WaitTime > 0 {
		r.params.Set("wait", strconv.FormatInt(q.WaitTime.Milliseconds(), 10)+"ms")
	}
	if q.AllowStale {
		r.params.Set("stale", "")
	}
	for k, v := range q.Params {
		r.params.Set(k, v)
	}
}

func (r *request) setWrite(w *WriteOptions) {
	if w == nil {
		return
	}
	if w.Region != "" {
		r.params.Set("region", w.Region)
	}
	if w.Namespace != "" {
		r.params.Set("namespace", w.Namespace)
	}
	if w.IdempotencyToken != "" {
		r.params.Set("idempotency_token", w.IdempotencyToken)
	}
}

// do sends the request and returns the response of a 2xx status; any other
// status becomes a *StatusError carrying the body.
func (c *Client) do(ctx context.Context, r *request) (*http.Response, error) {
	var body io.Reader
	raw, isRaw := r.body.(io.Reader)
	if isRaw {
		// Sent as is (a snapshot to restore), not encoded as JSON.
		body = raw
	} else if r.body != nil {
		buf, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s body: %w", r.method, r.path, err)
		}
		body = bytes.NewReader(buf)
	}
	u := *c.base
	// r.path is already escaped (jobPath escapes an ID's "/" as %2F, as
	// child job IDs have one): it is the raw path, and Path its decoding,
	// so that String keeps %2F instead of escaping the '%' again.
	decoded, err := url.PathUnescape(r.path)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", r.method, r.path, err)
	}
	base := strings.TrimSuffix(u.EscapedPath(), "/")
	u.Path = strings.TrimSuffix(u.Path, "/") + decoded
	u.RawPath = base + r.path
	u.RawQuery = r.params.Encode()
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", r.method, r.path, err)
	}
	switch {
	case isRaw:
		req.Header.Set("Content-Type", "application/octet-stream")
	case body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.Token != "" {
		req.Header.Set("X-Nomad-Token", c.cfg.Token)
	}
	resp, err := c.httpc.Do(req)
	if err != nil {
		// net/http's error repeats the method and the whole URL; say them
		// once, in the form every other error of this client has.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, &StatusError{Method: r.method, Path: r.path, Code: resp.StatusCode, Body: strings.TrimSpace(string(msg))}
	}
	return resp, nil
}

// query performs a GET and decodes the JSON response into out.
func (c *Client) query(path string, out any, q *QueryOptions) (*QueryMeta, error) {
	r := c.newRequest(http.MethodGet, path)
	r.setQuery(q)
	resp, err := c.do(q.context(), r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	qm := parseQueryMeta(resp)
	if err := decode(resp, out); err != nil {
		return nil, fmt.Errorf("GET %s: %w", r.path, err)
	}
	return qm, nil
}

// write performs a PUT/POST/DELETE with an optional JSON body.
func (c *Client) write(method, path string, in, out any, w *WriteOptions) (*WriteMeta, error) {
	r := c.newRequest(method, path)
	r.setWrite(w)
	r.body = in
	resp, err := c.do(w.context(), r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	wm := &WriteMeta{LastIndex: parseQueryMeta(resp).LastIndex}
	if err := decode(resp, out); err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, r.path, err)
	}
	return wm, nil
}

func decode(resp *http.Response, out any) error {
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// parseQueryMeta reads the X-Nomad-* headers; missing or malformed headers
// leave zero values.
func parseQueryMeta(resp *http.Response) *QueryMeta {
	h := resp.Header
	qm := &QueryMeta{}
	qm.LastIndex, _ = strconv.ParseUint(h.Get("X-Nomad-Index"), 10, 64)
	if ms, err := strconv.ParseUint(h.Get("X-Nomad-LastContact"), 10, 63); err == nil {
		qm.LastContact = time.Duration(ms) * time.Millisecond
	}
	qm.KnownLeader = h.Get("X-Nomad-KnownLeader") == "true"
	return qm
}
