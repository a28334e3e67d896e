package proxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
)

// InboundLimits bound what callers can make a proxy open to its
// application: every stream a caller opens becomes a connection to the
// app, so without them one caller holding a leaf the intentions allow
// could hold thousands of the app's connections for good with nothing but
// 9-byte open frames. The zero value means the defaults below.
type InboundLimits struct {
	// Conns caps the connections to the application open at once, from
	// every caller together (0: defaultInboundConns; negative: no cap).
	Conns int
	// PerSource caps them per calling service, all its instances and
	// sessions together (0: defaultInboundPerSource; negative: no cap).
	PerSource int
	// PerSession caps the streams of one multiplexed session, that is of
	// one calling proxy (0: defaultInboundPerSession; negative: no cap).
	PerSession int
	// IdleTimeout closes a connection that carried no byte either way for
	// that long (to a quarter more: it is checked every quarter of it);
	// 0: defaultInboundIdle, negative: never.
	IdleTimeout time.Duration
}

// The defaults are far above what an application does, and above what
// Consul's Envoy sidecars allow: Envoy caps a cluster, the local
// application's included, at 1,024 connections unless configured, and
// closes a TCP proxy connection idle for an hour.
const (
	// defaultInboundPerSession: one calling allocation's connections to
	// one instance, Envoy's cap on a whole cluster.
	defaultInboundPerSession = 1024
	// defaultInboundPerSource: four callers of one service at that cap at
	// once.
	defaultInboundPerSource = 4096
	// defaultInboundConns: what an application behind one proxy serves
	// at once, eight times Envoy's default for the local application.
	defaultInboundConns = 8192
	// defaultInboundIdle: Envoy's TCP proxy idle timeout; connection pools
	// recycle idle connections well before (minutes).
	defaultInboundIdle = time.Hour
)

// withDefaults fills the zero fields.
func (l InboundLimits) withDefaults() InboundLimits {
	set := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	set(&l.Conns, defaultInboundConns)
	set(&l.PerSource, defaultInboundPerSource)
	set(&l.PerSession, defaultInboundPerSession)
	if l.IdleTimeout == 0 {
		l.IdleTimeout = defaultInboundIdle
	}
	return l
}

// refusal is why a connection to the application was not opened.
type refusal uint8

const (
	admitted refusal = iota
	refusedSession
	refusedSource
	refusedConns
)

func (r refusal) String() string {
	switch r {
	case refusedSession:
		return "per session"
	case refusedSource:
		return "per source service"
	case refusedConns:
		return "for the application"
	}
	return "admitted"
}

// slots counts one session's open streams (guarded by gate.mu).
type slots struct{ n int }

// activity is a connection that says whether bytes went either way since
// it was last asked (muxStream, activeConn).
type activity interface{ wasActive() bool }

// held is one admitted connection to the application.
type held struct {
	src   ca.ServiceID
	sess  *slots // nil for a plain connection
	act   activity
	peer  io.Closer
	app   net.Conn // set once dialled
	quiet int      // idle checks in a row that saw no byte
}

// gate admits connections to the application within InboundLimits and
// closes the ones idle for too long.
type gate struct {
	lim InboundLimits

	mu       sync.Mutex
	total    int
	bySource map[ca.ServiceID]int
	open     map[*held]struct{}
	// sweeps counts idle checks (for tests).
	sweeps atomic.Int64
}

func newGate(lim InboundLimits) *gate {
	return &gate{lim: lim.withDefaults(), bySource: map[ca.ServiceID]int{}, open: map[*held]struct{}{}}
}

// capCheck is one cap: whether one more connection would exceed it.
type capCheck struct {
	why  refusal
	over func(g *gate, src ca.ServiceID, sess *slots) bool
}

// caps in the order they are checked: the narrowest first, so that what
// is counted and logged names the cap the caller met.
var caps = []capCheck{
	// One calling proxy's session.
	{refusedSession, func(g *gate, _ ca.ServiceID, sess *slots) bool {
		return sess != nil && full(sess.n, g.lim.PerSession)
	}},
	// Every instance of the calling service: a service cannot take the
	// application's every connection from the others.
	{refusedSource, func(g *gate, src ca.ServiceID, _ *slots) bool { return full(g.bySource[src], g.lim.PerSource) }},
	// The application as a whole.
	{refusedConns, func(g *gate, _ ca.ServiceID, _ *slots) bool { return full(g.total, g.lim.Conns) }},
}

func full(n, limit int) bool { return limit > 0 && n >= limit }

// admit takes a slot for a connection from src (over sess, nil when
// plain), or says which cap refuses it.
func (g *gate) admit(src ca.ServiceID, sess *slots, peer io.Closer, act activity) (*held, refusal) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range caps {
		if c.over(g, src, sess) {
			return nil, c.why
		}
	}
	h := &held{src: src, sess: sess, act: act, peer: peer}
	g.total++
	g.bySource[src]++
	if sess != nil {
		sess.n++
	}
	g.open[h] = struct{}{}
	return h, admitted
}

// dialled records the application's end of h, closed with it when idle.
func (g *gate) dialled(h *held, app net.Conn) {
	g.mu.Lock()
	h.app = app
	g.mu.Unlock()
}

// release frees h's slot.
func (g *gate) release(h *held) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.open[h]; !ok {
		return
	}
	delete(g.open, h)
	g.total--
	if g.bySource[h.src]--; g.bySource[h.src] == 0 {
		delete(g.bySource, h.src)
	}
	if h.sess != nil {
		h.sess.n--
	}
}

// idleChecks is how many checks in a row a connection must be quiet for
// to be closed: checking every quarter of the timeout closes it between
// the timeout and a quarter more.
const idleChecks = 4

// sweep closes the connections that carried nothing for IdleTimeout,
// checking every quarter of it, until stop closes; each close is
// counted with onIdle.
func (g *gate) sweep(stop <-chan struct{}, onIdle func(n int)) {
	if g.lim.IdleTimeout < 0 {
		return
	}
	t := time.NewTicker(g.lim.IdleTimeout / idleChecks)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-stop:
			return
		}
		idle := g.idle()
		for _, c := range idle {
			c.Close() // the pipe then ends and releases the slot
		}
		g.sweeps.Add(1)
		if len(idle) > 0 {
			onIdle(len(idle) / 2)
		}
	}
}

// idle returns both ends of the connections quiet for idleChecks checks
// (the application's is a closer that does nothing while it is being
// dialled), and starts the count again for the others.
func (g *gate) idle() []io.Closer {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []io.Closer
	for h := range g.open {
		if h.act.wasActive() {
			h.quiet = 0
			continue
		}
		if h.quiet++; h.quiet >= idleChecks {
			var app io.Closer = nopCloser{}
			if h.app != nil {
				app = h.app
			}
			out = append(out, h.peer, app)
		}
	}
	return out
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// activeConn is a plain (not multiplexed) inbound connection that notes
// when bytes go either way, for the idle check.
type activeConn struct {
	net.Conn
	active atomic.Bool
}

func (c *activeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.active.Store(true)
	}
	return n, err
}

func (c *activeConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.active.Store(true)
	}
	return n, err
}

// CloseWrite passes a half-close on (pipe needs it to pass the caller's
// end of requests along).
func (c *activeConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

func (c *activeConn) wasActive() bool { return c.active.Swap(false) }
