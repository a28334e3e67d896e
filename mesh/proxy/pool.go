package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
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

	mu       sync.Mutex
	sessions map[poolKey]*poolEntry
}

type poolKey struct{ addr, service, namespace string }

// poolEntry is one session, or the dial that will make it (ready closed
// when done), so concurrent first connections share one handshake.
type poolEntry struct {
	ready chan struct{}
	sess  *yamux.Session
	// direct is the connection of a remote that does not multiplex, for
	// the caller that dialled it.
	direct net.Conn
	err    error
}

func newPool(certs Certs, dial DialFunc, m *metrics) *pool {
	return &pool{certs: certs, dial: dial, m: m, sessions: map[poolKey]*poolEntry{}}
}

// open returns a connection to service at addr: a stream of the shared
// session, or a dedicated mTLS connection when the remote cannot multiplex.
func (p *pool) open(ctx context.Context, addr, service, namespace string) (net.Conn, error) {
	k := poolKey{addr, service, namespace}
	for attempt := 0; attempt < 2; attempt++ {
		e, mine := p.entry(k)
		if mine {
			p.connect(ctx, k, e)
		}
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err != nil {
			p.drop(k, e)
			return nil, e.err
		}
		if e.sess == nil {
			// The remote does not multiplex: every connection dials anew,
			// and the dialler uses the connection it made.
			p.drop(k, e)
			if mine && e.direct != nil {
				return e.direct, nil
			}
			return p.dialTLS(ctx, k, false)
		}
		s, err := e.sess.OpenStream()
		if err == nil {
			return s, nil
		}
		// A session the remote closed (restart, idle timeout): dial once more.
		p.drop(k, e)
	}
	return nil, fmt.Errorf("open stream to %s: session closed twice", addr)
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
	c, err := p.dialTLS(ctx, k, true)
	if err != nil {
		e.err = err
		return
	}
	tc := c.(*tls.Conn)
	if tc.ConnectionState().NegotiatedProtocol != muxProto {
		e.direct = tc
		return
	}
	sess, err := yamux.Client(newFrameConn(tc), muxConfig())
	if err != nil {
		tc.Close()
		e.err = fmt.Errorf("start session with %s: %w", k.addr, err)
		return
	}
	e.sess = sess
}

// dialTLS makes one mTLS connection to k, offering the mux protocol when mux.
func (p *pool) dialTLS(ctx context.Context, k poolKey, mux bool) (net.Conn, error) {
	cfg, err := clientTLS(p.certs, k.service, k.namespace, mux)
	if err != nil {
		return nil, err
	}
	raw, err := p.dial(ctx, "tcp", k.addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", k.addr, err)
	}
	tc := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p.m.handshake()
	if err := handshake(hctx, tc); err != nil {
		raw.Close()
		p.m.handshakeError()
		return nil, fmt.Errorf("handshake with %s: %w", k.addr, err)
	}
	return tc, nil
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
}

// muxConfig is yamux's configuration for both ends: keepalives find dead
// peers, logs are dropped (errors surface on the streams), windows are
// larger than the default so one stream can fill a fast link.
func muxConfig() *yamux.Config {
	c := yamux.DefaultConfig()
	c.LogOutput = io.Discard
	c.MaxStreamWindowSize = 1 << 20
	c.StreamOpenTimeout = 10 * time.Second
	return c
}
