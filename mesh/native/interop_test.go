package native

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
	"github.com/roam-sh/roam/mesh/proxy"
	"github.com/roam-sh/roam/testutil"
)

// serviceCerts lets a roam proxy use a native Service's leaf and roots, so
// the proxy and the native application share one CA (the test agent's).
type serviceCerts struct{ s *Service }

func (c serviceCerts) Current() (*tls.Certificate, *ca.Roots, error) { return c.s.current() }

type allowAll struct{}

func (allowAll) Authorize(ca.ServiceID, string) bool { return true }
func (allowAll) Changes() <-chan struct{}            { return nil }

type fixed []proxy.Instance

func (f fixed) Instances(context.Context, proxy.Upstream) ([]proxy.Instance, error) { return f, nil }

// runProxy starts a roam sidecar proxy for s in this process.
func runProxy(t *testing.T, s *Service, local string, ups []proxy.Upstream, dst fixed) *proxy.Proxy {
	t.Helper()
	p, err := proxy.New(proxy.Config{
		Service: s.cfg.Service, PublicAddr: "127.0.0.1:0", LocalAddr: local, Upstreams: ups,
		Certs: serviceCerts{s}, Authorizer: allowAll{}, Resolver: dst, Logger: testutil.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx, time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-p.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("proxy not listening")
	}
	return p
}

// A roam sidecar's upstream reaches a native server (plain mTLS: the
// native end offers no multiplexing), which sees the sidecar's service.
func TestRoamProxyDialsNativeServer(t *testing.T) {
	a := newTestAgent(t)
	echo := serveEcho(t, newService(t, a, "echo"))
	port := freePort(t)
	runProxy(t, newService(t, a, "web"), "127.0.0.1:1",
		[]proxy.Upstream{{DestinationName: "echo", LocalBindAddress: "127.0.0.1", LocalBindPort: port}},
		fixed{{Addr: echo.addr()}})

	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := roundTrip(c, "hello"); err != nil || got != "web: hello" {
		t.Fatalf("through the proxy to the native server: %q %v", got, err)
	}
}

// A native client dials a roam sidecar's public listener and reaches the
// application behind it.
func TestNativeClientDialsRoamProxy(t *testing.T) {
	a := newTestAgent(t)
	app, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	go func() {
		for {
			c, err := app.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintf(c, "app: %s\n", sc.Text())
				}
			}()
		}
	}()
	p := runProxy(t, newService(t, a, "api"), app.Addr().String(), nil, nil)
	a.register("api", p.PublicAddr().String())

	c, err := newService(t, a, "web").Dial(testutil.Context(t), "api")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := roundTrip(c, "hello"); err != nil || got != "app: hello" {
		t.Fatalf("native client through the sidecar: %q %v", got, err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
