//go:build linux

package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/testutil"
)

// freezingRelay forwards TCP connections to a target until frozen; then it
// neither reads nor writes nor forwards new connections, as a stopped
// proxy or a host gone behind a partition. Its kernel still ACKs, so only
// the proxies' own keepalive can tell.
type freezingRelay struct {
	ln     net.Listener
	target string
	frozen chan struct{}
	stop   chan struct{}
	mu     sync.Mutex
	conns  []net.Conn
}

func newFreezingRelay(t *testing.T, target string) *freezingRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &freezingRelay{ln: ln, target: target, frozen: make(chan struct{}), stop: make(chan struct{})}
	t.Cleanup(r.close)
	go r.serve()
	return r
}

func (r *freezingRelay) addr() string { return r.ln.Addr().String() }
func (r *freezingRelay) freeze()      { close(r.frozen) }

func (r *freezingRelay) close() {
	close(r.stop)
	r.ln.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
}

func (r *freezingRelay) keep(c net.Conn) {
	r.mu.Lock()
	r.conns = append(r.conns, c)
	r.mu.Unlock()
}

func (r *freezingRelay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.keep(c)
		if r.gate() {
			continue // frozen: the connection is held, never answered
		}
		u, err := net.Dial("tcp", r.target)
		if err != nil {
			c.Close()
			continue
		}
		r.keep(u)
		go r.copy(u, c)
		go r.copy(c, u)
	}
}

// gate reports whether the relay is frozen, and once it is, blocks until
// the test ends.
func (r *freezingRelay) gate() bool {
	select {
	case <-r.frozen:
		<-r.stop
		return true
	default:
		return false
	}
}

func (r *freezingRelay) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		if r.gate() {
			return
		}
		n, err := src.Read(buf)
		if n > 0 {
			if r.gate() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

// A session whose peer stops answering (frozen behind a relay whose kernel
// still ACKs) is closed with the application connections on it, and new
// application connections reach a healthy instance instead of hanging on
// the dead session.
func TestFrozenPeerSessionIsClosedAndNewConnectionsGoElsewhere(t *testing.T) {
	tca := newTestCA(t, "11111111-2222-3333-4444-555555555555.consul")
	authz, resolver := newTestAuthz(), &staticResolver{}
	// Short for the test, yet long enough that a loaded machine's scheduling
	// delays do not close a healthy session.
	const ping = 500 * time.Millisecond
	api := startProxy(t, Config{Service: "api", LocalAddr: echoApp(t), Certs: certsFor(tca, "api"),
		Authorizer: authz, Resolver: resolver, pingEvery: ping})
	api2 := startProxy(t, Config{Service: "api", LocalAddr: echoApp(t), Certs: certsFor(tca, "api"),
		Authorizer: authz, Resolver: resolver, pingEvery: ping})
	relay := newFreezingRelay(t, api.PublicAddr().String())
	resolver.insts = []Instance{{Addr: relay.addr()}}
	web := startProxy(t, Config{Service: "web", LocalAddr: "127.0.0.1:1", Certs: certsFor(tca, "web"),
		Authorizer: authz, Resolver: resolver, pingEvery: ping,
		Upstreams: []Upstream{{DestinationName: "api", LocalBindAddress: "127.0.0.1", ConnectTimeout: time.Second}}})

	c := dialUpstream(t, web)
	if got, err := roundTrip(c, "before"); err != nil || got != "before" {
		t.Fatalf("through the relay: echo %q, %v", got, err)
	}
	// The relay freezes with c open on the session, and the idle session
	// is pinged a few times first: an answered ping keeps it open.
	sess := webSession(t, web)
	seen := sess.recvd.Load()
	testutil.WaitFor(t, 10*time.Second, func() error {
		if n := sess.recvd.Load() - seen; n < 3 {
			return fmt.Errorf("idle session received %d pings or pongs, want 3", n)
		}
		return nil
	})
	if got, err := roundTrip(c, "still"); err != nil || got != "still" {
		t.Fatalf("idle healthy session: echo %q, %v", got, err)
	}
	relay.freeze()
	resolver.mu.Lock()
	resolver.insts = []Instance{{Addr: relay.addr()}, {Addr: api2.PublicAddr().String()}}
	resolver.mu.Unlock()
	c.Write([]byte("lost"))

	closed := make(chan error, 1)
	go func() {
		c.SetReadDeadline(time.Time{})
		_, err := io.ReadAll(c)
		closed <- err
	}()
	testutil.WaitFor(t, 30*time.Second, func() error {
		select {
		case <-closed:
			return nil
		default:
			return errors.New("application connection on the frozen session still open")
		}
	})
	before := api2.Stats().InboundConns
	for i := range 5 {
		msg := fmt.Sprint("elsewhere ", i)
		if got, err := roundTrip(dialUpstream(t, web), msg); err != nil || got != msg {
			t.Fatalf("new connection %d after the freeze: echo %q, %v", i, got, err)
		}
	}
	if n := api2.Stats().InboundConns - before; n != 5 {
		t.Fatalf("healthy instance served %d of 5 new connections", n)
	}
}

// webSession is the one mux session of p's pool.
func webSession(t *testing.T, p *Proxy) *muxSession {
	t.Helper()
	p.pool.mu.Lock()
	defer p.pool.mu.Unlock()
	for _, e := range p.pool.sessions {
		if e.sess != nil {
			return e.sess
		}
	}
	t.Fatal("no mux session in the pool")
	return nil
}

// tcpRecorder remembers the connections a proxy accepted or dialled.
type tcpRecorder struct {
	mu    sync.Mutex
	conns []*net.TCPConn
}

func (r *tcpRecorder) add(c net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conns = append(r.conns, c.(*net.TCPConn))
}

type recordingListener struct {
	net.Listener
	r *tcpRecorder
}

func (l recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.r.add(c)
	}
	return c, err
}

func sockopt(t *testing.T, c *net.TCPConn, level, opt int) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var serr error
	if err := rc.Control(func(fd uintptr) { v, serr = unix.GetsockoptInt(int(fd), level, opt) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	return v
}

// Both ends of a proxy-to-proxy TCP connection carry the user timeout and
// keepalive probes, so the kernel aborts a connection to a vanished host
// in seconds.
func TestProxyConnectionsHaveKernelKeepalive(t *testing.T) {
	tca := newTestCA(t, "11111111-2222-3333-4444-555555555555.consul")
	authz, resolver := newTestAuthz(), &staticResolver{}
	accepted, dialled := &tcpRecorder{}, &tcpRecorder{}
	api := startProxy(t, Config{Service: "api", LocalAddr: echoApp(t), Certs: certsFor(tca, "api"),
		Authorizer: authz, Resolver: resolver,
		Listen: func(ctx context.Context, network, addr string) (net.Listener, error) {
			var lc net.ListenConfig
			ln, err := lc.Listen(ctx, network, addr)
			return recordingListener{ln, accepted}, err
		}})
	resolver.insts = []Instance{{Addr: api.PublicAddr().String()}}
	web := startProxy(t, Config{Service: "web", LocalAddr: "127.0.0.1:1", Certs: certsFor(tca, "web"),
		Authorizer: authz, Resolver: resolver,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err == nil {
				dialled.add(c)
			}
			return c, err
		},
		Upstreams: []Upstream{{DestinationName: "api", LocalBindAddress: "127.0.0.1"}}})
	if got, err := roundTrip(dialUpstream(t, web), "hi"); err != nil || got != "hi" {
		t.Fatalf("echo %q, %v", got, err)
	}
	accepted.mu.Lock()
	dialled.mu.Lock()
	defer accepted.mu.Unlock()
	defer dialled.mu.Unlock()
	if len(accepted.conns) != 1 || len(dialled.conns) != 1 {
		t.Fatalf("%d accepted and %d dialled connections, want 1 each", len(accepted.conns), len(dialled.conns))
	}
	for side, c := range map[string]*net.TCPConn{"accepting": accepted.conns[0], "dialling": dialled.conns[0]} {
		got := [4]int{
			sockopt(t, c, unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT),
			sockopt(t, c, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE),
			sockopt(t, c, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL),
			sockopt(t, c, unix.IPPROTO_TCP, unix.TCP_KEEPCNT),
		}
		want := [4]int{int(tcpUserTimeout.Milliseconds()), int(tcpKeepIdle.Seconds()), int(tcpKeepInterval.Seconds()), tcpKeepCount}
		if got != want || sockopt(t, c, unix.SOL_SOCKET, unix.SO_KEEPALIVE) != 1 {
			t.Errorf("%s side: user timeout ms, keepidle, keepintvl, keepcnt = %v, want %v with SO_KEEPALIVE", side, got, want)
		}
	}
}
