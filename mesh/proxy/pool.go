package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
)

// DialFunc opens a TCP connection (from inside the allocation's namespace
// or the host's, as the caller decides).
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// sessionCacheSize bounds the TLS sessions a proxy remembers: one per
// remote proxy address it dialled (the cache keys by address), so a
// proxy with more instances than this falls back to full handshakes with
// the least recently used ones.
const sessionCacheSize = 256

// dialer makes one mTLS connection per application connection. The
// handshake resumes a session of an earlier connection to the same
// address (a TLS 1.3 ticket: one round trip and an ephemeral key
// exchange, no certificate signature or chain verification beyond a
// cache look-up, see verifier), so a new application connection costs no
// full handshake. It tracks the connections it made, to recycle those
// whose peer later roots no longer trust and to close them at the end of
// a drain.
type dialer struct {
	certs  Certs
	dial   DialFunc
	m      *metrics
	verify *verifier

	mu sync.Mutex
	// cache holds the sessions made with leaf; a new leaf starts a new
	// cache, so no new connection resumes a session of the old identity.
	cache tls.ClientSessionCache
	leaf  []byte
	conns map[*tls.Conn]*outConn
}

// outConn is what is known of one open upstream connection: the chain
// the remote presented, checked again when the roots change.
type outConn struct {
	chain     [][]byte
	recycling bool
}

func newDialer(certs Certs, dial DialFunc, m *metrics, v *verifier) *dialer {
	return &dialer{certs: certs, dial: dial, m: m, verify: v, conns: map[*tls.Conn]*outConn{}}
}

// open returns an mTLS connection to service at addr, its handshake done.
// The caller calls release once the connection ended.
func (d *dialer) open(ctx context.Context, addr, service, namespace string) (net.Conn, func(), error) {
	leaf, roots, err := d.certs.Current()
	if err != nil {
		return nil, nil, fmt.Errorf("no leaf certificate: %w", err)
	}
	cfg := clientTLS(leaf, roots, d.verify, service, namespace)
	tickets := &ticketGate{ClientSessionCache: d.sessionCache(leaf.Certificate[0])}
	cfg.ClientSessionCache = tickets
	tc, err := d.handshake(ctx, addr, cfg)
	if err == nil && tc.ConnectionState().NegotiatedProtocol == legacyMuxProto {
		// A proxy of an earlier version: connect again as a plain client.
		tc.Close()
		cfg.NextProtos, cfg.ClientSessionCache = nil, nil
		tc, err = d.handshake(ctx, addr, cfg)
	}
	if err != nil {
		return nil, nil, err
	}
	cs := tc.ConnectionState()
	tickets.keep.Store(cs.NegotiatedProtocol == proxyProto)
	d.mu.Lock()
	d.conns[tc] = &outConn{chain: rawChain(cs)}
	d.mu.Unlock()
	return tc, func() { d.untrack(tc) }, nil
}

// handshake dials addr and runs the client handshake, counted.
func (d *dialer) handshake(ctx context.Context, addr string, cfg *tls.Config) (*tls.Conn, error) {
	raw, err := d.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	tc := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		raw.Close()
		d.m.handshakeFailed()
		return nil, fmt.Errorf("handshake with %s: %w", addr, err)
	}
	d.m.handshakeDone(tc.ConnectionState().DidResume)
	return tc, nil
}

// ticketGate passes the session tickets of one connection to the cache
// only once keep is set: after a handshake with a roam proxy (see
// proxyProto). Tickets come after the handshake (TLS 1.3), read with the
// connection's data, so none arrives before keep is decided.
type ticketGate struct {
	tls.ClientSessionCache
	keep atomic.Bool
}

func (g *ticketGate) Put(key string, cs *tls.ClientSessionState) {
	if cs == nil || g.keep.Load() { // nil removes an entry crypto/tls found unusable
		g.ClientSessionCache.Put(key, cs)
	}
}

// sessionCache is the cache of sessions made with leaf.
func (d *dialer) sessionCache(leaf []byte) tls.ClientSessionCache {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cache == nil || !bytes.Equal(d.leaf, leaf) {
		d.cache, d.leaf = tls.NewLRUClientSessionCache(sessionCacheSize), leaf
	}
	return d.cache
}

func (d *dialer) untrack(c *tls.Conn) {
	d.mu.Lock()
	delete(d.conns, c)
	d.mu.Unlock()
}

// rotate acts on new roots: a connection whose remote they no longer
// trust (its chain led only to a root since pruned) is closed after grace:
// it must not live on with credentials that are no longer trusted; its
// application reconnects over a connection with the new certificates.
// Connections made with an older leaf of ours run on (the peer still
// trusts it through the cross-signed transition); the next connection
// uses the new leaf, since its session cache is the new leaf's.
func (d *dialer) rotate(roots *ca.Roots, grace time.Duration) int {
	d.mu.Lock()
	var cut []net.Conn
	for c, oc := range d.conns {
		if oc.recycling || trusted(roots, oc.chain) {
			continue
		}
		oc.recycling = true
		cut = append(cut, c)
	}
	d.mu.Unlock()
	for _, c := range cut {
		time.AfterFunc(grace, func() { c.Close() })
	}
	return len(cut)
}

// close ends every open upstream connection (the end of the drain).
func (d *dialer) close() {
	d.mu.Lock()
	all := make([]net.Conn, 0, len(d.conns))
	for c := range d.conns {
		all = append(all, c)
	}
	d.mu.Unlock()
	for _, c := range all {
		c.Close()
	}
}
