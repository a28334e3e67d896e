package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// The proxy is L4: whatever the application speaks crosses two proxies
// byte for byte. These tests put real HTTP/2 and gRPC servers and clients
// on both ends of the mesh (web's proxy → mTLS → api's proxy → the app) and
// check what a user of those protocols would notice: streams multiplexed on
// one connection, streaming calls, trailers, and an application's own TLS
// (ALPN h2) arriving untouched.

// meshTo starts api's proxy in front of appAddr and web's proxy with an
// upstream to it, and returns the address web's application dials.
func meshTo(t *testing.T, appAddr string) string {
	t.Helper()
	tca := newTestCA(t, "11111111-2222-3333-4444-555555555555.consul")
	authz, res := newTestAuthz(), &staticResolver{}
	api := startProxy(t, Config{Service: "api", LocalAddr: appAddr, Certs: certsFor(tca, "api"),
		Authorizer: authz, Resolver: res})
	res.insts = []Instance{{Addr: api.PublicAddr().String()}}
	web := startProxy(t, Config{Service: "web", LocalAddr: "127.0.0.1:1", Certs: certsFor(tca, "web"),
		Authorizer: authz, Resolver: res, Upstreams: []Upstream{{DestinationName: "api"}}})
	return web.UpstreamAddr(0).String()
}

// serve runs srv on a loopback listener until the test ends.
func serve(t *testing.T, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// h2cEcho answers every request with its body, its protocol and the client
// connection it came on, after a trailer, so that interleaved streams,
// HTTP/2 framing and trailers all show in the answer.
func h2cEcho(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Trailer", "X-Body-Len")
	w.Header().Set("X-Conn", r.RemoteAddr)
	fmt.Fprintf(w, "%s %s", r.Proto, body)
	w.Header().Set("X-Body-Len", fmt.Sprint(len(body)))
}

// countingDial dials addr whatever the transport asks for, and counts.
type countingDial struct {
	addr string
	n    atomic.Int32
}

func (d *countingDial) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	d.n.Add(1)
	var nd net.Dialer
	return nd.DialContext(ctx, "tcp", d.addr)
}

// An h2c (HTTP/2 with prior knowledge, no TLS) client sends concurrent
// streams over one application connection through the mesh; every stream
// gets its own answer, with its trailer, and all of them arrive at the
// server on one HTTP/2 connection.
func TestHTTP2PriorKnowledgeStreamsThroughTheMesh(t *testing.T) {
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	app := serve(t, &http.Server{Handler: http.HandlerFunc(h2cEcho), Protocols: &protos})
	dial := &countingDial{addr: meshTo(t, app)}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http2.Transport{
		AllowHTTP:      true,
		DialTLSContext: func(ctx context.Context, n, a string, _ *tls.Config) (net.Conn, error) { return dial.dial(ctx, n, a) },
	}}
	const streams = 32
	conns := make(chan string, streams)
	var wg sync.WaitGroup
	for i := range streams {
		wg.Go(func() {
			body := strings.Repeat(fmt.Sprintf("stream-%d;", i), 100*(i+1))
			resp, err := client.Post("http://api.mesh/echo", "text/plain", strings.NewReader(body))
			if err != nil {
				t.Errorf("stream %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if want := "HTTP/2.0 " + body; err != nil || string(got) != want {
				t.Errorf("stream %d: answer of %d bytes (%v), want %d bytes echoing its body", i, len(got), err, len(want))
			}
			if tr := resp.Trailer.Get("X-Body-Len"); tr != fmt.Sprint(len(body)) {
				t.Errorf("stream %d: trailer X-Body-Len %q, want %d", i, tr, len(body))
			}
			conns <- resp.Header.Get("X-Conn")
		})
	}
	wg.Wait()
	close(conns)
	seen := map[string]bool{}
	for c := range conns {
		seen[c] = true
	}
	if n := dial.n.Load(); n != 1 || len(seen) != 1 {
		t.Fatalf("%d application connections, %d server connections for %d streams; want one of each", n, len(seen), streams)
	}
}

// A real gRPC server (the standard health service) behind the mesh: unary
// calls, and a server-streaming Watch that sees every status change as it
// happens, over one client connection through the upstream.
func TestGRPCThroughTheMesh(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	hs.SetServingStatus("count-api", healthpb.HealthCheckResponse_NOT_SERVING)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)

	cc, err := grpc.NewClient("passthrough:///"+meshTo(t, ln.Addr().String()),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	hc := healthpb.NewHealthClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check(\"\"): %v, %v; want SERVING", r, err)
	}
	watch, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: "count-api"})
	if err != nil {
		t.Fatal(err)
	}
	want := []healthpb.HealthCheckResponse_ServingStatus{
		healthpb.HealthCheckResponse_NOT_SERVING, healthpb.HealthCheckResponse_SERVING,
		healthpb.HealthCheckResponse_NOT_SERVING, healthpb.HealthCheckResponse_SERVING,
	}
	for i, st := range want {
		if i > 0 { // the server changes the status only once the stream has shown the last one
			hs.SetServingStatus("count-api", st)
		}
		r, err := watch.Recv()
		if err != nil || r.Status != st {
			t.Fatalf("watch message %d: %v, %v; want %v", i, r, err, st)
		}
	}
	// Unary calls interleaved with the open stream, on the same connection.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "count-api"}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("concurrent Check %d: %v, %v", i, r, err)
			}
		})
	}
	wg.Wait()
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "unknown"}); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Fatalf("Check(unknown): %v, want the server's NotFound status through the mesh", err)
	}
}

// An application that does its own TLS (ALPN h2) inside the mesh's stream:
// the client sees the application's certificate, not a proxy's, negotiates
// h2 with it, and speaks HTTP/2. The proxies carry the inner TLS untouched.
func TestApplicationTLSWithALPNH2PassesThrough(t *testing.T) {
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Proto, r.URL.Path)
	}))
	app.EnableHTTP2 = true
	app.StartTLS()
	t.Cleanup(app.Close)
	appCert := app.TLS.Certificates[0].Certificate[0]
	pool := x509.NewCertPool()
	pool.AddCert(app.Certificate())

	upstream := meshTo(t, app.Listener.Addr().String())
	var state tls.ConnectionState
	tr := &http.Transport{
		ForceAttemptHTTP2: true,
		TLSClientConfig:   &tls.Config{RootCAs: pool, ServerName: "example.com", NextProtos: []string{"h2"}},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", upstream)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Timeout: 20 * time.Second, Transport: tr}
	for i := range 3 {
		resp, err := client.Get(fmt.Sprintf("https://example.com/inner-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("HTTP/2.0 /inner-%d", i); string(body) != want || resp.Proto != "HTTP/2.0" {
			t.Fatalf("request %d: %s %q, want %q", i, resp.Proto, body, want)
		}
		state = *resp.TLS
	}
	if state.NegotiatedProtocol != "h2" {
		t.Fatalf("ALPN %q, want h2 negotiated with the application", state.NegotiatedProtocol)
	}
	if got := state.PeerCertificates[0].Raw; string(got) != string(appCert) {
		t.Fatal("the client saw a certificate other than the application's")
	}
}
