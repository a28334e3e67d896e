package native

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
	"github.com/roam-sh/roam/testutil"
)

const token = "the-task-identity"

func newService(t *testing.T, a *testAgent, name string) *Service {
	t.Helper()
	s, err := New(Config{Service: name, AgentAddr: a.srv.URL, Token: token, Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	select {
	case <-s.Ready():
	case <-time.After(10 * time.Second):
		t.Fatalf("service %s never got its leaf and roots", name)
	}
	return s
}

// echoServer serves s over mTLS: each line read is written back prefixed
// with the client's service; the serials of the client certificates seen
// are kept.
type echoServer struct {
	ln      net.Listener
	mu      sync.Mutex
	serials []string
}

func serveEcho(t *testing.T, s *Service) *echoServer {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", s.ServerTLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	return acceptEcho(t, ln)
}

func (e *echoServer) serve(c *tls.Conn) {
	defer c.Close()
	if err := c.Handshake(); err != nil {
		return
	}
	peer := c.ConnectionState().PeerCertificates[0]
	id, _ := ca.ServiceIDFromURI(peer.URIs[0])
	e.mu.Lock()
	e.serials = append(e.serials, peer.SerialNumber.String())
	e.mu.Unlock()
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		fmt.Fprintf(c, "%s: %s\n", id.Service, sc.Text())
	}
}

func (e *echoServer) addr() string { return e.ln.Addr().String() }

func roundTrip(c net.Conn, line string) (string, error) {
	if _, err := fmt.Fprintln(c, line); err != nil {
		return "", err
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(got), err
}

func TestDialThroughTheCatalogAndServe(t *testing.T) {
	a := newTestAgent(t)
	echo := serveEcho(t, newService(t, a, "echo"))
	a.register("echo", "127.0.0.1:1") // a dead instance: the next is tried
	a.register("echo", echo.addr())
	web := newService(t, a, "web")

	for i := range 3 {
		c, err := web.Dial(testutil.Context(t), "echo")
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		got, err := roundTrip(c, "hello")
		c.Close()
		if err != nil || got != "web: hello" {
			t.Fatalf("round trip %d: %q, %v; want the server to see web", i, got, err)
		}
	}
	a.mu.Lock()
	tokens := slices.Clone(a.tokens)
	a.mu.Unlock()
	if len(tokens) == 0 || slices.ContainsFunc(tokens, func(s string) bool { return s != token }) {
		t.Fatalf("the agent saw tokens %q, want only the task's", tokens)
	}
}

func TestHTTPClientOverTheMesh(t *testing.T) {
	a := newTestAgent(t)
	api := newService(t, a, "api")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", api.ServerTLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := ca.ServiceIDFromURI(r.TLS.PeerCertificates[0].URIs[0])
		fmt.Fprintf(w, "hello %s", id.Service)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	a.register("api", ln.Addr().String())

	web := newService(t, a, "web")
	resp, err := web.HTTPClient().Get("https://api.service.consul/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "hello web" {
		t.Fatalf("got %q", b)
	}
	if _, err := web.HTTPClient().Get("https://example.com/"); err == nil {
		t.Fatal("a host outside the mesh was dialled")
	}
}

func TestServerRefuses(t *testing.T) {
	a := newTestAgent(t)
	echo := serveEcho(t, newService(t, a, "echo"))
	a.register("echo", echo.addr())
	a.deny("intruder", "echo", true)

	other := newTestAgent(t) // another cluster: another CA
	cases := []struct {
		name string
		dial func() (net.Conn, error)
	}{
		{"a service denied by intentions", func() (net.Conn, error) {
			return newService(t, a, "intruder").Dial(testutil.Context(t), "echo")
		}},
		{"a certificate from another CA", func() (net.Conn, error) {
			return newService(t, other, "web").DialAddr(testutil.Context(t), "echo", echo.addr())
		}},
		{"no client certificate", func() (net.Conn, error) {
			return tls.Dial("tcp", echo.addr(), &tls.Config{InsecureSkipVerify: true})
		}},
		{"plaintext", func() (net.Conn, error) { return net.Dial("tcp", echo.addr()) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.dial()
			if err == nil {
				// TLS 1.3 clients learn of a refused certificate on
				// their first read.
				_, err = roundTrip(c, "hello")
				c.Close()
			}
			if err == nil {
				t.Fatal("the echo server answered")
			}
		})
	}
}

func TestDialVerifiesServerIdentity(t *testing.T) {
	a := newTestAgent(t)
	echo := serveEcho(t, newService(t, a, "echo"))
	a.register("db", echo.addr()) // the catalog lies: echo is not db
	_, err := newService(t, a, "web").Dial(testutil.Context(t), "db")
	if err == nil || !strings.Contains(err.Error(), `want service "db"`) {
		t.Fatalf("dial db reached echo: %v", err)
	}
}

// A root rotation reissues every leaf: the open connection carries on,
// and the next one is made with the new leaf.
func TestRotationKeepsOpenConnections(t *testing.T) {
	a := newTestAgent(t)
	echo := serveEcho(t, newService(t, a, "echo"))
	a.register("echo", echo.addr())
	web := newService(t, a, "web")
	open, err := web.Dial(testutil.Context(t), "echo")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	if got, err := roundTrip(open, "before"); err != nil || got != "web: before" {
		t.Fatalf("before rotation: %q %v", got, err)
	}
	leaf, _, _ := web.current()
	a.rotate()
	testutil.WaitFor(t, 10*time.Second, func() error {
		now, roots, _ := web.current()
		if now == leaf || len(roots.List.Roots) != 2 {
			return errors.New("web still has its old leaf or one root")
		}
		return nil
	})
	if got, err := roundTrip(open, "during"); err != nil || got != "web: during" {
		t.Fatalf("the open connection after rotation: %q %v", got, err)
	}
	c, err := web.Dial(testutil.Context(t), "echo")
	if err != nil {
		t.Fatalf("a new connection after rotation: %v", err)
	}
	defer c.Close()
	if got, err := roundTrip(c, "after"); err != nil || got != "web: after" {
		t.Fatalf("a new connection after rotation: %q %v", got, err)
	}
	echo.mu.Lock()
	serials := slices.Clone(echo.serials)
	echo.mu.Unlock()
	if len(serials) != 2 || serials[0] == serials[1] {
		t.Fatalf("client serials seen %v: want the new leaf on the new connection", serials)
	}
}

func TestNewNeedsAService(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("a service without a name was accepted")
	}
}

// Once the old root is pruned after a rotation, a native server closes an
// open connection whose client chain only that root vouched for, a
// native client closes one whose server chain only it vouched for, and a
// connection made on the new leaves on both sides is kept.
func TestPrunedRootClosesConnectionsOnTheOldChain(t *testing.T) {
	a := newTestAgent(t)
	const grace = 200 * time.Millisecond
	svc := func(name string) *Service {
		s, err := New(Config{Service: name, AgentAddr: a.srv.URL, Token: token, Logger: testutil.Logger(t), RecycleGrace: grace})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		<-s.Ready()
		return s
	}
	echoSvc, web := svc("echo"), svc("web")
	echo := serveEcho(t, echoSvc)
	a.register("echo", echo.addr())
	oldWebLeaf, _, _ := web.current()
	oldEchoLeaf, _, _ := echoSvc.current()

	// A native client on the old chain: only the native server can close it.
	toNative, err := tls.Dial("tcp", echo.addr(), &tls.Config{Certificates: []tls.Certificate{*oldWebLeaf}, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer toNative.Close()
	// A plain TLS server on the old chain: only the native client can close it.
	plain := serveStatic(t, oldEchoLeaf)
	fromNative, err := web.DialAddr(testutil.Context(t), "echo", plain.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer fromNative.Close()
	for name, c := range map[string]net.Conn{"to the native server": toNative, "from the native client": fromNative} {
		if got, err := roundTrip(c, "before"); err != nil || got != "web: before" {
			t.Fatalf("%s before the rotation: %q %v", name, got, err)
		}
	}

	a.rotate()
	testutil.WaitFor(t, 10*time.Second, func() error {
		for _, s := range []*Service{echoSvc, web} {
			if now, roots, _ := s.current(); now == oldWebLeaf || now == oldEchoLeaf || len(roots.List.Roots) != 2 {
				return fmt.Errorf("%s has its old leaf or not both roots", s.cfg.Service)
			}
		}
		return nil
	})
	fresh, err := web.Dial(testutil.Context(t), "echo")
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	for name, c := range map[string]net.Conn{"to the native server": toNative, "from the native client": fromNative, "new": fresh} {
		if got, err := roundTrip(c, "rotated"); err != nil || got != "web: rotated" {
			t.Fatalf("%s after the rotation, before the pruning: %q %v", name, got, err)
		}
	}

	a.prune()
	for name, c := range map[string]net.Conn{"to the native server": toNative, "from the native client": fromNative} {
		testutil.WaitFor(t, 10*time.Second, func() error {
			if _, err := roundTrip(c, "pruned"); err == nil {
				return fmt.Errorf("the connection %s on the pruned chain still answers", name)
			}
			return nil
		})
	}
	if got, err := roundTrip(fresh, "after"); err != nil || got != "web: after" {
		t.Fatalf("the connection on the new leaves after the pruning: %q %v", got, err)
	}
}

// acceptEcho serves every TLS connection ln accepts with the echo server,
// until the test ends.
func acceptEcho(t *testing.T, ln net.Listener) *echoServer {
	t.Cleanup(func() { ln.Close() })
	e := &echoServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go e.serve(c.(*tls.Conn))
		}
	}()
	return e
}

// serveStatic is an echo server with a fixed certificate that checks
// nothing: it never recycles a connection itself.
func serveStatic(t *testing.T, leaf *tls.Certificate) *echoServer {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{*leaf}, ClientAuth: tls.RequireAnyClientCert})
	if err != nil {
		t.Fatal(err)
	}
	return acceptEcho(t, ln)
}

// A client that caches TLS sessions and dials again cannot skip the
// server's checks by resuming: after a deny intention, or after its leaf's
// root was rotated out and pruned, the second dial is refused and never
// answered (Go skips VerifyPeerCertificate on a resumed session).
func TestSecurityMeshResumedSessionIsCheckedAgain(t *testing.T) {
	cases := []struct {
		name   string
		change func(a *testAgent, echo *Service)
	}{
		{"after a deny intention", func(a *testAgent, _ *Service) { a.deny("web", "echo", true) }},
		{"after a rotation and the pruning of the old root", func(a *testAgent, echo *Service) {
			_, before, _ := echo.current()
			a.rotate()
			a.prune()
			testutil.WaitFor(t, 10*time.Second, func() error {
				if _, roots, _ := echo.current(); len(roots.List.Roots) != 1 || roots.ActiveRootID == before.ActiveRootID {
					return errors.New("echo does not have the pruned roots yet")
				}
				return nil
			})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestAgent(t)
			echoSvc := newService(t, a, "echo")
			echo := serveEcho(t, echoSvc)
			cfg, err := newService(t, a, "web").clientTLS("echo")
			if err != nil {
				t.Fatal(err)
			}
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			first, err := tls.Dial("tcp", echo.addr(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			// Reading is when a TLS 1.3 client takes the session ticket.
			if got, err := roundTrip(first, "first"); err != nil || got != "web: first" {
				t.Fatalf("first connection: %q %v", got, err)
			}
			first.Close()

			tc.change(a, echoSvc)
			c, err := tls.Dial("tcp", echo.addr(), cfg)
			if err == nil {
				got, rerr := roundTrip(c, "second")
				c.Close()
				if rerr == nil {
					t.Fatalf("the server answered a second dial %s: %q (resumed: %v)", tc.name, got, c.ConnectionState().DidResume)
				}
			}
		})
	}
}
