package checks

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/roam-sh/roam/structs"
)

// Result is what one probe found.
type Result struct {
	Status structs.HealthStatus
	// Output says what happened: a response body, a script's output, an
	// error (at most MaxOutput bytes).
	Output string
	// StatusCode is an http check's response code (0 otherwise).
	StatusCode int
	Time       time.Time
}

// prober runs one kind of check once. Probes never return an error: a
// failure to reach the service is the check's result.
type prober func(ctx context.Context, c *Check) Result

// probers maps each check type to its probe.
func probers() map[structs.CheckType]prober {
	return map[structs.CheckType]prober{
		structs.CheckTypeHTTP:   probeHTTP,
		structs.CheckTypeTCP:    probeTCP,
		structs.CheckTypeGRPC:   probeGRPC,
		structs.CheckTypeScript: probeScript,
	}
}

func critical(format string, a ...any) Result {
	return Result{Status: structs.HealthCritical, Output: clip(fmt.Sprintf(format, a...))}
}

func clip(s string) string {
	if len(s) > MaxOutput {
		return s[:MaxOutput]
	}
	return s
}

func (c *Check) dialer() DialFunc {
	if c.Dial != nil {
		return c.Dial
	}
	var d net.Dialer
	return d.DialContext
}

// probeTCP passes when a connection opens.
func probeTCP(ctx context.Context, c *Check) Result {
	conn, err := c.dialer()(ctx, "tcp", c.Address)
	if err != nil {
		return critical("tcp connect %s: %v", c.Address, err)
	}
	_ = conn.Close()
	return Result{Status: structs.HealthPassing, Output: fmt.Sprintf("tcp connect %s: success", c.Address)}
}

// probeHTTP passes on any 2xx answer, warns on 429 (the service is up but
// shedding load) and is critical otherwise. Redirects are followed only
// to the check's own address: a check never makes the agent reach a host
// the service names.
func probeHTTP(ctx context.Context, c *Check) Result {
	req, err := httpRequest(ctx, c)
	if err != nil {
		return critical("http check: %v", err)
	}
	client := &http.Client{Transport: httpTransport(c), CheckRedirect: sameHost(c.Address)}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return critical("http %s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxOutput))
	r := Result{StatusCode: resp.StatusCode, Output: clip(fmt.Sprintf("http %s %s: %s\n%s", req.Method, req.URL, resp.Status, body))}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		r.Status = structs.HealthPassing
	case resp.StatusCode == http.StatusTooManyRequests:
		r.Status = structs.HealthWarning
	default:
		r.Status = structs.HealthCritical
	}
	return r
}

func httpRequest(ctx context.Context, c *Check) (*http.Request, error) {
	scheme := c.Def.Protocol
	if scheme == "" {
		scheme = "http"
	}
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("protocol %q is not http or https", scheme)
	}
	method := c.Def.Method
	if method == "" {
		method = http.MethodGet
	}
	path := c.Def.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	var body io.Reader
	if c.Def.Body != "" {
		body = strings.NewReader(c.Def.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, scheme+"://"+c.Address+path, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range c.Def.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "roam health check")
	}
	return req, nil
}

// httpTransport opens one connection per probe (no pooling: each probe
// proves the service accepts a new connection) through the check's dialer.
func httpTransport(c *Check) *http.Transport {
	return &http.Transport{
		DialContext:       c.dialer(),
		DisableKeepAlives: true,
		Proxy:             nil,
		TLSClientConfig:   tlsConfig(c),
	}
}

func tlsConfig(c *Check) *tls.Config {
	return &tls.Config{InsecureSkipVerify: c.Def.TLSSkipVerify, ServerName: c.Def.TLSServerName} //nolint:gosec // tls_skip_verify is the job's choice
}

func sameHost(addr string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.URL.Host != addr {
			return http.ErrUseLastResponse
		}
		return nil
	}
}

// probeGRPC asks the gRPC health protocol (grpc.health.v1.Health/Check)
// about grpc_service ("" is the server as a whole); SERVING passes.
func probeGRPC(ctx context.Context, c *Check) Result {
	creds := insecure.NewCredentials()
	if c.Def.GRPCUseTLS {
		creds = credentials.NewTLS(tlsConfig(c))
	}
	dial := c.dialer()
	conn, err := grpc.NewClient("passthrough:///"+c.Address,
		grpc.WithTransportCredentials(creds),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return dial(ctx, "tcp", addr) }),
	)
	if err != nil {
		return critical("grpc %s: %v", c.Address, err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: c.Def.GRPCService}, grpc.WaitForReady(false))
	if err != nil {
		return critical("grpc health check %s service %q: %v", c.Address, c.Def.GRPCService, err)
	}
	st := resp.GetStatus()
	out := fmt.Sprintf("grpc health check %s service %q: %s", c.Address, c.Def.GRPCService, st)
	if st != healthpb.HealthCheckResponse_SERVING {
		return Result{Status: structs.HealthCritical, Output: out}
	}
	return Result{Status: structs.HealthPassing, Output: out}
}

// probeScript runs the command in the task: exit 0 passes, 1 warns,
// anything else (or not running at all) is critical, as in Consul.
func probeScript(ctx context.Context, c *Check) Result {
	if c.Exec == nil {
		return critical("script check: the task's driver cannot exec")
	}
	argv := append([]string{c.Def.Command}, c.Def.Args...)
	out, code, err := c.Exec(ctx, c.Task, argv)
	if err != nil {
		return critical("script %s in task %s: %v", c.Def.Command, c.Task, err)
	}
	if ctx.Err() != nil {
		return critical("script %s in task %s: timed out after %s", c.Def.Command, c.Task, c.timeout())
	}
	r := Result{Output: clip(string(bytes.TrimSpace(out)))}
	switch code {
	case 0:
		r.Status = structs.HealthPassing
	case 1:
		r.Status = structs.HealthWarning
	default:
		r.Status = structs.HealthCritical
	}
	return r
}
