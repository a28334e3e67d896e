package proxy

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/testutil"
)

// statusApp answers every request with the status its path names
// (/404 → 404), with a body except for HEAD.
func statusApp(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil {
			code = http.StatusOK
		}
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(code)
		io.WriteString(w, "status "+r.URL.Path)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// With protocol http on both ends, the requests through the mesh are
// counted by status class and timed, at the caller's upstream and at the
// destination's inbound listener, over keep-alive connections, with
// request bodies, HEAD and a 100-continue; bytes pass unchanged. A proxy
// of protocol tcp measures nothing.
func TestHTTPRequestsCountedByClassAndTimed(t *testing.T) {
	tca := newTestCA(t, "11111111-2222-3333-4444-555555555555.consul")
	authz, res := newTestAuthz(), &staticResolver{}
	api := startProxy(t, Config{Service: "api", LocalAddr: statusApp(t), Protocol: ProtocolHTTP,
		Certs: certsFor(tca, "api"), Authorizer: authz, Resolver: res})
	res.insts = []Instance{{Addr: api.PublicAddr().String()}}
	web := startProxy(t, Config{Service: "web", LocalAddr: "127.0.0.1:1", Certs: certsFor(tca, "web"), Authorizer: authz, Resolver: res,
		Upstreams: []Upstream{{DestinationName: "api", LocalBindAddress: "127.0.0.1", Protocol: ProtocolHTTP}}})
	plain := startProxy(t, Config{Service: "web2", LocalAddr: "127.0.0.1:1", Certs: certsFor(tca, "web2"), Authorizer: authz, Resolver: res,
		Upstreams: []Upstream{{DestinationName: "api", LocalBindAddress: "127.0.0.1"}}})

	upstream := web.UpstreamAddr(0).String()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", upstream)
	}, MaxIdleConnsPerHost: 2}}
	do := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://api"+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Expect", "100-continue")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := strings.TrimPrefix(path, "/"); resp.Status[:3] != want {
			t.Fatalf("%s %s: status %s, want %s", method, path, resp.Status, want)
		}
		if method != http.MethodHead && string(b) != "status "+path {
			t.Fatalf("%s %s: body %q", method, path, b)
		}
	}
	for range 3 {
		do(http.MethodGet, "/200", "")
	}
	do(http.MethodHead, "/200", "")
	do(http.MethodPost, "/201", strings.Repeat("x", 100_000))
	do(http.MethodGet, "/404", "")
	do(http.MethodGet, "/404", "")
	do(http.MethodGet, "/503", "")

	want := map[string]int64{"2xx": 5, "4xx": 2, "5xx": 1}
	check := func(where string, h *HTTPStats) error {
		if h == nil {
			return fmt.Errorf("%s: no HTTP stats", where)
		}
		if !maps.Equal(h.Requests, want) || h.Count != 8 {
			return fmt.Errorf("%s: requests %v (count %d), want %v (8)", where, h.Requests, h.Count, want)
		}
		if last := h.Buckets[len(h.Buckets)-1]; last != 8 || h.LatencySeconds <= 0 {
			return fmt.Errorf("%s: %d requests within 10 s, latency sum %v; want 8 and above 0", where, last, h.LatencySeconds)
		}
		return nil
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if err := check("web's upstream", web.Stats().Upstreams["api"].HTTP); err != nil {
			return err
		}
		return check("api's inbound", api.Stats().HTTP)
	})

	c, err := net.Dial("tcp", plain.UpstreamAddr(0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /200 HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n")
	if b, _ := io.ReadAll(c); !strings.HasPrefix(string(b), "HTTP/1.1 200") {
		t.Fatalf("through a tcp upstream: %q", b)
	}
	if h := plain.Stats().Upstreams["api"].HTTP; h != nil {
		t.Fatalf("a tcp upstream measured HTTP: %+v", h)
	}
}
