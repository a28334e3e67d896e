package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/testutil"
)

// echoApp is the application behind a proxy: it echoes what it reads.
func echoApp(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func startProxy(t testing.TB, cfg Config) *Proxy {
	t.Helper()
	if cfg.PublicAddr == "" {
		cfg.PublicAddr = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = testutil.Logger(t)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-p.Ready():
	case err := <-done:
		t.Fatalf("proxy ended before ready: %v", err)
	}
	return p
}

// testMesh is web's proxy with an upstream to api's proxy, which fronts an
// echo app, all on one CA.
type testMesh struct {
	ca       *testCA
	authz    *testAuthz
	web, api *Proxy
	resolver *staticResolver
}

func newTestMesh(t testing.TB) *testMesh {
	tca := newTestCA(t, "11111111-2222-3333-4444-555555555555.consul")
	m := &testMesh{ca: tca, authz: newTestAuthz(), resolver: &staticResolver{}}
	m.api = startProxy(t, Config{Service: "api", LocalAddr: echoApp(t), Certs: certsFor(tca, "api"),
		Authorizer: m.authz, Resolver: m.resolver})
	m.resolver.insts = []Instance{{Addr: m.api.PublicAddr().String()}}
	m.web = startProxy(t, Config{Service: "web", LocalAddr: "127.0.0.1:1", Certs: certsFor(tca, "web"),
		Authorizer: m.authz, Resolver: m.resolver,
		Upstreams: []Upstream{{DestinationName: "api", LocalBindAddress: "127.0.0.1", LocalBindPort: 0}}})
	return m
}

// roundTrip writes msg on c and reads the echo back.
func roundTrip(c net.Conn, msg string) (string, error) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return "", err
	}
	return string(buf), nil
}

func dialUpstream(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.UpstreamAddr(0).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// An application connection to the upstream port reaches the destination's
// app over mTLS, and further connections reuse the proxies' one TLS
// connection: no new handshake.
func TestUpstreamReachesAppAndReusesTheTLSConnection(t *testing.T) {
	m := newTestMesh(t)
	for i := range 5 {
		c := dialUpstream(t, m.web)
		msg := fmt.Sprintf("hello %d", i)
		got, err := roundTrip(c, msg)
		if err != nil || got != msg {
			t.Fatalf("connection %d: echo %q, %v; want %q", i, got, err, msg)
		}
		c.Close()
	}
	if u := m.web.Stats().Upstreams["api"]; u.Conns != 5 || u.Bytes == 0 || u.Errors != 0 {
		t.Fatalf("web proxy's api upstream: %+v, want 5 connections with bytes and no errors", u)
	}
	if s := m.web.Stats(); s.Handshakes != 1 || s.UpstreamConns != 5 {
		t.Fatalf("web proxy: %d handshakes for %d connections, want 1 for 5", s.Handshakes, s.UpstreamConns)
	}
	if s := m.api.Stats(); s.Handshakes != 1 || s.InboundConns != 5 {
		t.Fatalf("api proxy: %d handshakes for %d connections, want 1 for 5", s.Handshakes, s.InboundConns)
	}
}

// refused reports whether c was closed before any echo came back.
func refused(c net.Conn) error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("secret"))
	b, err := io.ReadAll(c)
	if bytes.Contains(b, []byte("secret")) {
		return errors.New("the app answered")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errors.New("connection neither answered nor closed")
	}
	return nil
}

// The public listener refuses what is not a verified, allowed service.
func TestPublicListenerRefuses(t *testing.T) {
	m := newTestMesh(t)
	other := newTestCA(t, "other.consul")
	public := m.api.PublicAddr().String()
	tlsDial := func(cert *tls.Certificate) (net.Conn, error) {
		cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		return tls.Dial("tcp", public, cfg)
	}
	for _, tc := range []struct {
		name string
		dial func() (net.Conn, error)
	}{
		{"plaintext client", func() (net.Conn, error) { return net.Dial("tcp", public) }},
		{"no client certificate", func() (net.Conn, error) { return tlsDial(nil) }},
		{"certificate of another CA", func() (net.Conn, error) { return tlsDial(other.leaf("web")) }},
		{"TLS 1.2 client", func() (net.Conn, error) {
			return tls.Dial("tcp", public, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
				Certificates: []tls.Certificate{*m.ca.leaf("web")}})
		}},
		{"denied service", func() (net.Conn, error) {
			m.authz.set("denied", "api", true)
			return tlsDial(m.ca.leaf("denied"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.dial()
			if err != nil {
				return // refused at the handshake
			}
			defer c.Close()
			if err := refused(c); err != nil {
				t.Fatal(err)
			}
		})
	}
	// And the same client with a leaf of this CA gets through: the cases
	// above fail for the reason they name.
	c, err := tlsDial(m.ca.leaf("web"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := roundTrip(c, "native"); err != nil || got != "native" {
		t.Fatalf("connect-native client (no mux): echo %q, %v", got, err)
	}
}

// A deny closes the pair's open connections, and refuses new ones; an
// allow lets new ones in again.
func TestDenyClosesOpenConnections(t *testing.T) {
	m := newTestMesh(t)
	c := dialUpstream(t, m.web)
	if got, err := roundTrip(c, "before"); err != nil || got != "before" {
		t.Fatalf("echo %q, %v", got, err)
	}
	m.authz.set("web", "api", true)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("open connection after deny: read %v, want EOF", err)
	}
	if err := refused(dialUpstream(t, m.web)); err != nil {
		t.Fatalf("new connection after deny: %v", err)
	}
	m.authz.set("web", "api", false)
	if got, err := roundTrip(dialUpstream(t, m.web), "after"); err != nil || got != "after" {
		t.Fatalf("after allow: echo %q, %v", got, err)
	}
}

// A dead instance costs no application connection: the next instance is
// tried, and the dead one is ejected after failing three times.
func TestUpstreamRetriesAndEjects(t *testing.T) {
	m := newTestMesh(t)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	m.resolver.mu.Lock()
	m.resolver.insts = append([]Instance{{Addr: deadAddr}}, m.resolver.insts...)
	m.resolver.mu.Unlock()
	for i := range 8 {
		msg := fmt.Sprint("retry ", i)
		if got, err := roundTrip(dialUpstream(t, m.web), msg); err != nil || got != msg {
			t.Fatalf("connection %d: echo %q, %v", i, got, err)
		}
	}
	if !m.web.ups[0].bal.ejected(deadAddr) {
		t.Fatalf("dead instance %s not ejected", deadAddr)
	}
}

// The upstream side checks whom it reached: an instance whose certificate
// names another service gets no bytes.
func TestUpstreamVerifiesServerIdentity(t *testing.T) {
	m := newTestMesh(t)
	impostor := startProxy(t, Config{Service: "db", LocalAddr: echoApp(t), Certs: certsFor(m.ca, "db"),
		Authorizer: m.authz, Resolver: m.resolver})
	m.resolver.mu.Lock()
	m.resolver.insts = []Instance{{Addr: impostor.PublicAddr().String()}}
	m.resolver.mu.Unlock()
	if err := refused(dialUpstream(t, m.web)); err != nil {
		t.Fatal(err)
	}
	if impostor.Stats().InboundConns != 0 {
		t.Fatal("the impostor's app got a connection")
	}
}

// recordingDial records every byte the proxy sends and receives on the
// wire between proxies: what a capture on the bridge would see.
type recordingDial struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

type recConn struct {
	net.Conn
	r *recordingDial
}

func (c recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.r.mu.Lock()
	c.r.buf.Write(p[:n])
	c.r.mu.Unlock()
	return n, err
}

func (c recConn) Write(p []byte) (int, error) {
	c.r.mu.Lock()
	c.r.buf.Write(p)
	c.r.mu.Unlock()
	return c.Conn.Write(p)
}

func (r *recordingDial) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return recConn{c, r}, nil
}

// Between proxies there is only TLS: the payload never crosses in clear.
func TestWireBetweenProxiesIsOnlyTLS(t *testing.T) {
	m := newTestMesh(t)
	rec := &recordingDial{}
	web := startProxy(t, Config{Service: "web", LocalAddr: "127.0.0.1:1", Certs: certsFor(m.ca, "web"),
		Authorizer: m.authz, Resolver: m.resolver, Dial: rec.dial,
		Upstreams: []Upstream{{DestinationName: "api", LocalBindPort: 0}}})
	payload := "GET /secret-payload-7f3a HTTP/1.1\r\n\r\n"
	if got, err := roundTrip(dialUpstream(t, web), payload); err != nil || got != payload {
		t.Fatalf("echo %q, %v", got, err)
	}
	rec.mu.Lock()
	wire := rec.buf.Bytes()
	rec.mu.Unlock()
	if len(wire) == 0 || wire[0] != 0x16 {
		t.Fatalf("first byte on the wire %x, want a TLS handshake record (16)", wire[:min(1, len(wire))])
	}
	if bytes.Contains(wire, []byte("secret-payload")) {
		t.Fatal("the payload crossed the wire in clear")
	}
}

// An expose path is plain HTTP forwarding exactly that path.
func TestExposePathForwardsOnlyThatPath(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "app says ", r.URL.Path)
	})}
	go app.Serve(ln)
	t.Cleanup(func() { app.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	tca := newTestCA(t, "td.consul")
	p := startProxy(t, Config{Service: "api", LocalAddr: ln.Addr().String(), Certs: certsFor(tca, "api"),
		Authorizer: newTestAuthz(), Resolver: &staticResolver{},
		Expose: []ExposePath{{Path: "/health", ListenerPort: 0, LocalPathPort: port}}})
	base := "http://" + p.ExposeAddr(0).String()
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/health", 200, "app says /health"},
		{"/health?full=1", 200, "app says /health"},
		{"/admin", 404, ""},
		{"/health/../admin", 404, ""},
		{"/healthz", 404, ""},
	} {
		resp, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || (tc.body != "" && string(b) != tc.body) {
			t.Errorf("GET %s: %d %q, want %d %q", tc.path, resp.StatusCode, b, tc.code, tc.body)
		}
	}
}

// On stop the proxy refuses new connections at once and lets open ones
// finish within the drain time.
func TestStopDrainsOpenConnections(t *testing.T) {
	tca := newTestCA(t, "td.consul")
	authz, res := newTestAuthz(), &staticResolver{}
	api := startProxy(t, Config{Service: "api", LocalAddr: echoApp(t), Certs: certsFor(tca, "api"), Authorizer: authz, Resolver: res})
	res.insts = []Instance{{Addr: api.PublicAddr().String()}}
	web, err := New(Config{Service: "web", PublicAddr: "127.0.0.1:0", LocalAddr: "127.0.0.1:1", Certs: certsFor(tca, "web"),
		Authorizer: authz, Resolver: res, Upstreams: []Upstream{{DestinationName: "api"}}, Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- web.Run(ctx, 30*time.Second) }()
	<-web.Ready()
	up := web.UpstreamAddr(0).String()
	c, err := net.Dial("tcp", up)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := roundTrip(c, "before"); err != nil || got != "before" {
		t.Fatalf("echo %q, %v", got, err)
	}
	cancel()
	testutil.WaitFor(t, 5*time.Second, func() error {
		if c2, err := net.Dial("tcp", up); err == nil {
			c2.Close()
			return errors.New("the upstream still accepts after stop")
		}
		return nil
	})
	if got, err := roundTrip(c, "during drain"); err != nil || got != "during drain" {
		t.Fatalf("open connection during the drain: echo %q, %v", got, err)
	}
	c.Close()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return once the last connection closed")
	}
}

// An upstream whose instance is a connect-native application (plain mTLS,
// no mux protocol) gets one mTLS connection per application connection.
func TestUpstreamToNativeApplication(t *testing.T) {
	tca := newTestCA(t, "td.consul")
	ln := mtlsPeer(t, tca, "api", nil, func(c *tls.Conn) { io.Copy(c, c) })
	res := &staticResolver{insts: []Instance{{Addr: ln.Addr().String()}}}
	web := startProxy(t, Config{Service: "web", LocalAddr: "127.0.0.1:1", Certs: certsFor(tca, "web"),
		Authorizer: newTestAuthz(), Resolver: res, Upstreams: []Upstream{{DestinationName: "api"}}})
	for i := range 3 {
		msg := fmt.Sprint("native ", i)
		if got, err := roundTrip(dialUpstream(t, web), msg); err != nil || got != msg {
			t.Fatalf("connection %d: echo %q, %v", i, got, err)
		}
	}
	if s := web.Stats(); s.UpstreamErrors != 0 || s.Handshakes != 3 {
		t.Fatalf("%d upstream errors, %d handshakes for 3 connections; want 0 and 3", s.UpstreamErrors, s.Handshakes)
	}
}

// The public listener caps the connections one peer address holds: past
// the cap new ones are refused, and a slot freed lets the next one in.
func TestPublicListenerCapsConnectionsPerPeer(t *testing.T) {
	tca := newTestCA(t, "11111111-2222-3333-4444-555555555555.consul")
	authz, resolver := newTestAuthz(), &staticResolver{}
	var logs testutil.SyncBuffer
	api := startProxy(t, Config{Service: "api", LocalAddr: echoApp(t), Certs: certsFor(tca, "api"),
		Authorizer: authz, Resolver: resolver, MaxConnsPerPeer: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	resolver.insts = []Instance{{Addr: api.PublicAddr().String()}}
	web := startProxy(t, Config{Service: "web", LocalAddr: "127.0.0.1:1", Certs: certsFor(tca, "web"),
		Authorizer: authz, Resolver: resolver,
		Upstreams: []Upstream{{DestinationName: "api", LocalBindAddress: "127.0.0.1", LocalBindPort: 0}}})

	public := api.PublicAddr().String()
	var held []net.Conn
	for range 2 { // connections that never finish their handshake
		c, err := net.Dial("tcp", public)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		held = append(held, c)
	}
	c, err := net.Dial("tcp", public)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if b, err := io.ReadAll(c); err != nil || !bytes.Contains(b, []byte("too many connections")) {
		t.Fatalf("third connection from one address: read %q, %v; want it refused", b, err)
	}
	// The refusal is logged with the peer's address and counted with the
	// failed handshakes, where an operator looks for why a caller fails.
	testutil.WaitFor(t, 10*time.Second, func() error {
		if !strings.Contains(logs.String(), "holds the most connections allowed") {
			return fmt.Errorf("no warning about the refused peer in %q", logs.String())
		}
		if n := api.Stats().HandshakeErrors; n < 1 {
			return fmt.Errorf("handshake errors %d after a refused connection", n)
		}
		return nil
	})

	held[0].Close()
	testutil.WaitFor(t, 10*time.Second, func() error {
		c := dialUpstream(t, web)
		defer c.Close()
		if got, err := roundTrip(c, "in"); err != nil || got != "in" {
			return fmt.Errorf("echo %q, %v", got, err)
		}
		return nil
	})
}
