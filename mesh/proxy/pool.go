package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
)

// DialFunc opens a TCP connection (from inside the allocation's namespace
// or the host's, as the caller decides).
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// pool keeps one multiplexed mTLS session per (remote proxy, destination
// service), so a new application connection is a new stream and costs no
// handshake. A remote that does not speak the mux protocol gets one mTLS
// connection per application connection.
type pool struct {
	certs Certs
	dial  DialFunc
	m     *metrics
	// pingEvery is the sessions' keepalive interval (0: muxPingEvery).
	pingEvery time.Duration

	mu       sync.Mutex
	sessions map[poolKey]*poolEntry
	// retired are sessions out of the pool with streams still open,
	// checked against later roots too.
	retired map[*poolEntry]struct{}
}

type poolKey struct{ addr, service, namespace string }

// poolEntry is one session, or the dial that will make it (ready closed
// when done), so concurrent first connections share one handshake.
type poolEntry struct {
	ready chan struct{}
	sess  *muxSession
	// direct is the connection of a remote that does not multiplex, for
	// the caller that dialled it.
	direct net.Conn
	err    error
	// leaf is our certificate (DER) the session was made with, peer the
	// chain the remote presented: checked again when certificates change.
	leaf []byte
	peer [][]byte

	// Guarded by pool.mu: open application streams, and whether the
	// session left the pool (it closes once its last stream ends).
	streams   int
	retired   bool
	recycling bool // to be closed after the grace period
}

func newPool(certs Certs, dial DialFunc, m *metrics, pingEvery time.Duration) *pool {
	return &pool{certs: certs, dial: dial, m: m, pingEvery: pingEvery, sessions: map[poolKey]*poolEntry{}, retired: map[*poolEntry]struct{}{}}
}

// open returns a connection to service at addr: a stream of the shared
// session, or a dedicated mTLS connection when the remote cannot multiplex.
// The caller calls release once the connection ended.
func (p *pool) open(ctx context.Context, addr, service, namespace string) (net.Conn, func(), error) {
	k := poolKey{addr, service, namespace}
	for attempt := 0; attempt < 2; attempt++ {
		e, mine := p.entry(k)
		if mine {
			p.connect(ctx, k, e)
		}
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		if e.err != nil {
			p.drop(k, e)
			return nil, nil, e.err
		}
		if e.sess == nil {
			// The remote does not multiplex: every connection dials anew,
			// and the dialler uses the connection it made.
			p.drop(k, e)
			if mine && e.direct != nil {
				return e.direct, func() {}, nil
			}
			c, _, err := p.dialTLS(ctx, k, false)
			return c, func() {}, err
		}
		p.hold(e)
		// The open frame leaves with the first bytes the caller copies
		// (copyToStream flushes before waiting for any).
		s, err := e.sess.openQueued()
		if err == nil {
			return s, func() { p.release(e) }, nil
		}
		p.release(e)
		// A session the remote closed or is recycling (restart, idle
		// timeout, a certificate it no longer trusts): dial once more.
		p.drop(k, e)
	}
	return nil, nil, fmt.Errorf("open stream to %s: session closed twice", addr)
}

// hold counts a stream about to open on e's session.
func (p *pool) hold(e *poolEntry) {
	p.mu.Lock()
	e.streams++
	p.mu.Unlock()
}

// release counts a stream's end and closes a retired session with its last.
func (p *pool) release(e *poolEntry) {
	p.mu.Lock()
	e.streams--
	last := e.retired && e.streams == 0
	if last {
		delete(p.retired, e)
	}
	p.mu.Unlock()
	if last {
		e.sess.Close()
	}
}

// rotate acts on new certificates: every session made with another leaf
// than leaf leaves the pool, so new application connections get a session
// with the new one, and closes once its open streams end (none is cut).
// A session whose remote the roots no longer trust (its chain led only to
// a root since pruned) is closed after grace even with streams open: it
// must not live on with credentials that are no longer trusted; its
// application connections reconnect over a session with the new
// certificates.
func (p *pool) rotate(leaf []byte, roots *ca.Roots, grace time.Duration) (retired, untrusted int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, e := range p.sessions {
		select {
		case <-e.ready:
		default:
			continue // its dial finishes with whichever leaf it took
		}
		if e.sess == nil {
			continue
		}
		ok := trusted(roots, e.peer)
		if ok && bytes.Equal(e.leaf, leaf) {
			continue
		}
		delete(p.sessions, k)
		e.retired = true
		retired++
		if e.streams == 0 {
			e.sess.Close()
			continue
		}
		p.retired[e] = struct{}{}
	}
	for e := range p.retired {
		if !e.recycling && !trusted(roots, e.peer) {
			e.recycling = true
			untrusted++
			time.AfterFunc(grace, func() { e.sess.Close() })
		}
	}
	return retired, untrusted
}

// entry returns the session entry for k; mine says the caller must dial.
func (p *pool) entry(k poolKey) (*poolEntry, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.sessions[k]; ok {
		select {
		case <-e.ready:
			if e.sess == nil || !e.sess.IsClosed() {
				return e, false
			}
		default:
			return e, false
		}
	}
	e := &poolEntry{ready: make(chan struct{})}
	p.sessions[k] = e
	return e, true
}

func (p *pool) drop(k poolKey, e *poolEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions[k] == e {
		delete(p.sessions, k)
	}
}

// connect dials k and fills e.
func (p *pool) connect(ctx context.Context, k poolKey, e *poolEntry) {
	defer close(e.ready)
	c, leaf, err := p.dialTLS(ctx, k, true)
	if err != nil {
		e.err = err
		return
	}
	tc := c.(*tls.Conn)
	if tc.ConnectionState().NegotiatedProtocol == legacyMuxProto {
		// A proxy of an earlier version (yamux): connect again as a
		// plain client, which it serves one connection per stream.
		tc.Close()
		if c, leaf, err = p.dialTLS(ctx, k, false); err != nil {
			e.err = err
			return
		}
		tc = c.(*tls.Conn)
	}
	e.leaf, e.peer = leaf, rawChain(tc.ConnectionState())
	if tc.ConnectionState().NegotiatedProtocol != muxProto {
		e.direct = tc
		return
	}
	e.sess = newMuxSession(tc, true, p.pingEvery)
}

// dialTLS makes one mTLS connection to k, offering the mux protocol when
// mux, and returns it with the leaf (DER) it presented.
func (p *pool) dialTLS(ctx context.Context, k poolKey, mux bool) (net.Conn, []byte, error) {
	cfg, err := clientTLS(p.certs, k.service, k.namespace, mux)
	if err != nil {
		return nil, nil, err
	}
	raw, err := p.dial(ctx, "tcp", k.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", k.addr, err)
	}
	tuneTCP(raw)
	tc := tls.Client(newBatchConn(raw), cfg)
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p.m.handshake()
	if err := handshake(hctx, tc); err != nil {
		raw.Close()
		p.m.handshakeError()
		return nil, nil, fmt.Errorf("handshake with %s: %w", k.addr, err)
	}
	return tc, cfg.Certificates[0].Certificate[0], nil
}

// close ends every session (their streams with them).
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, e := range p.sessions {
		select {
		case <-e.ready:
			if e.sess != nil {
				e.sess.Close()
			}
		default:
		}
		delete(p.sessions, k)
	}
	for e := range p.retired {
		e.sess.Close()
		delete(p.retired, e)
	}
}
