package proxy

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
)

// Authorizer decides whether a service may call another (intentions).
type Authorizer interface {
	// Authorize reports whether src may open connections to the service
	// dst. It is called on every accepted connection, so it must answer
	// from memory.
	Authorize(src ca.ServiceID, dst string) bool
	// Changes receives a value whenever a decision may have changed; the
	// proxy then asks again for every open connection's pair.
	Changes() <-chan struct{}
}

// inbound is the public listener: mTLS in, plain TCP to the local app.
type inbound struct {
	service   string
	local     string
	dialLocal DialFunc
	tlsCfg    *tls.Config
	authz     Authorizer
	m         *metrics
	http      *httpMetrics // nil unless the service's protocol is http
	logger    *slog.Logger
	pingEvery time.Duration // the sessions' keepalive interval (0: muxPingEvery)
	gate      *gate         // InboundLimits: caps and the idle check

	mu    sync.Mutex
	conns map[ca.ServiceID]map[io.Closer]*inConn
	wg    sync.WaitGroup

	// lastRefusal is when a refusal for each cap was last logged
	// (guarded by refuseMu).
	refuseMu    sync.Mutex
	lastRefusal [refusedConns + 1]time.Time
}

// inConn is what is known of one open inbound connection: the chain its
// peer presented, checked again when the roots change, and its session
// once it multiplexes (told to go away when the peer is no longer
// trusted).
type inConn struct {
	chain     [][]byte
	sess      *muxSession
	recycling bool
}

// serve accepts until ln closes. Each connection is served in its own
// goroutine; wg counts them for the drain.
func (in *inbound) serve(ln net.Listener) {
	stop := make(chan struct{})
	defer close(stop)
	go in.gate.sweep(stop, in.idleClosed)
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		in.wg.Add(1)
		go func() {
			defer in.wg.Done()
			in.handle(c)
		}()
	}
}

// handle runs the handshake, authorizes the peer's service and serves its
// streams (one when the peer does not multiplex).
func (in *inbound) handle(raw net.Conn) {
	tuneTCP(raw)
	tc := tls.Server(newBatchConn(raw), in.tlsCfg)
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := handshake(ctx, tc)
	cancel()
	in.m.handshake()
	if err != nil {
		in.m.handshakeError()
		in.logger.Debug("inbound handshake failed", "remote", raw.RemoteAddr(), "error", err)
		return
	}
	src, err := peerID(tc.ConnectionState())
	if err != nil {
		in.m.handshakeError()
		return
	}
	if !in.authz.Authorize(src, in.service) {
		in.m.denied.Add(1)
		in.logger.Info("connection denied by intentions", "source", src.String(), "destination", in.service)
		return
	}
	ic := &inConn{chain: rawChain(tc.ConnectionState())}
	if !in.track(src, tc, ic) {
		return
	}
	defer in.untrack(src, tc)
	if tc.ConnectionState().NegotiatedProtocol != muxProto {
		ac := &activeConn{Conn: tc}
		h, why := in.gate.admit(src, nil, tc, ac)
		if why != admitted {
			in.refuse(src, why)
			return
		}
		in.forward(ac, h)
		return
	}
	sess := newMuxSession(tc, false, in.pingEvery)
	defer sess.Close()
	in.mu.Lock()
	ic.sess = sess
	in.mu.Unlock()
	var streams sync.WaitGroup
	defer streams.Wait()
	open := &slots{}
	for {
		s, err := sess.Accept()
		if err != nil {
			return
		}
		// Admitted here, before any goroutine or connection to the app: a
		// refused stream costs a reset frame.
		h, why := in.gate.admit(src, open, s, s)
		if why != admitted {
			s.Close()
			in.refuse(src, why)
			continue
		}
		streams.Add(1)
		go func() {
			defer streams.Done()
			in.forward(s, h)
		}()
	}
}

// forward pipes one application connection to the local app, and frees
// its slot (h) when it ends.
func (in *inbound) forward(c net.Conn, h *held) {
	defer in.gate.release(h)
	in.m.inboundConns.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	app, err := in.dialLocal(ctx, "tcp", in.local)
	cancel()
	if err != nil {
		c.Close()
		in.logger.Debug("local app unreachable", "address", in.local, "error", err)
		return
	}
	in.gate.dialled(h, app)
	a, b := pipeObserved(c, app, in.http)
	in.m.inboundBytes.Add(a + b)
}

// refuse counts a connection refused for an InboundLimits cap and warns,
// at most once a minute per cap, naming the calling service and the cap: a
// caller meets a cap only when it holds far more connections than
// applications do, and nothing else would say why its connections fail.
func (in *inbound) refuse(src ca.ServiceID, why refusal) {
	in.m.refused.Add(1)
	in.refuseMu.Lock()
	defer in.refuseMu.Unlock()
	if time.Since(in.lastRefusal[why]) < time.Minute {
		return
	}
	in.lastRefusal[why] = time.Now()
	lim := in.gate.lim
	in.logger.Warn("inbound connection refused: a cap on connections to the application is reached", "source", src.String(),
		"cap", why.String(), "per_session", lim.PerSession, "per_source", lim.PerSource, "application", lim.Conns)
}

// idleClosed counts connections closed for carrying nothing for the idle
// timeout; one line per check that closed any.
func (in *inbound) idleClosed(n int) {
	in.m.idleClosed.Add(int64(n))
	in.logger.Info("closed inbound connections that carried nothing", "count", n, "idle_timeout", in.gate.lim.IdleTimeout)
}

// track records an authorized connection under its source; false when the
// pair was denied meanwhile (the recheck ran between Authorize and here).
func (in *inbound) track(src ca.ServiceID, c io.Closer, ic *inConn) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.authz.Authorize(src, in.service) {
		in.m.denied.Add(1)
		return false
	}
	if in.conns[src] == nil {
		in.conns[src] = map[io.Closer]*inConn{}
	}
	in.conns[src][c] = ic
	return true
}

// rotate acts on new roots: a connection whose peer's chain they no
// longer verify (it led only to a root since pruned) is recycled. A
// multiplexed one is told to go away at once, so the peer opens new
// streams over a new connection with its new certificate, and is closed
// after grace, open streams or not; a plain one is closed after grace.
func (in *inbound) rotate(roots *ca.Roots, grace time.Duration) int {
	in.mu.Lock()
	var cut []io.Closer
	for src, cs := range in.conns {
		for c, ic := range cs {
			if ic.recycling || trusted(roots, ic.chain) {
				continue
			}
			ic.recycling = true
			in.logger.Info("recycling a connection whose certificate the roots no longer trust", "source", src.String())
			if ic.sess != nil {
				ic.sess.GoAway()
			}
			cut = append(cut, c)
		}
	}
	in.mu.Unlock()
	for _, c := range cut {
		time.AfterFunc(grace, func() { c.Close() })
	}
	return len(cut)
}

func (in *inbound) untrack(src ca.ServiceID, c io.Closer) {
	in.mu.Lock()
	defer in.mu.Unlock()
	delete(in.conns[src], c)
	if len(in.conns[src]) == 0 {
		delete(in.conns, src)
	}
}

// recheck asks the Authorizer again for every source with open
// connections and closes those of the sources now denied: a deny cuts
// what runs, not only what comes next.
func (in *inbound) recheck() {
	in.mu.Lock()
	var cut []io.Closer
	for src, cs := range in.conns {
		if in.authz.Authorize(src, in.service) {
			continue
		}
		in.logger.Info("closing connections denied by intentions", "source", src.String(), "destination", in.service, "count", len(cs))
		for c := range cs {
			cut = append(cut, c)
		}
	}
	in.mu.Unlock()
	for _, c := range cut {
		c.Close()
	}
}

// closeAll closes every open connection (the end of the drain).
func (in *inbound) closeAll() {
	in.mu.Lock()
	var all []io.Closer
	for _, cs := range in.conns {
		for c := range cs {
			all = append(all, c)
		}
	}
	in.mu.Unlock()
	for _, c := range all {
		c.Close()
	}
}
