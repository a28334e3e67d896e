package native

import (
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
)

// DefaultRecycleGrace is how long a connection whose peer chain the roots
// no longer trust lives on before it is closed: the proxies' grace, long
// enough for a request in flight to finish.
const DefaultRecycleGrace = 10 * time.Second

// recycler keeps the peer chain of every open mTLS connection the service
// made or accepted, so that when the roots change (an old root pruned from
// the trust bundle after a rotation) the connections only that root
// vouched for are closed after a grace, as roam's proxies do, and the
// others are kept. It holds the raw connection under the TLS one:
// closing it ends the TLS connection whatever the application's own
// wrapping, and on the server side it is all a tls.Config sees
// (ClientHelloInfo.Conn).
type recycler struct {
	grace  time.Duration
	logger *slog.Logger

	mu    sync.Mutex
	conns map[net.Conn][][]byte // raw connection → peer chain, leaf first
	swept int                   // entries after the last sweep of closed ones
}

func newRecycler(grace time.Duration, logger *slog.Logger) *recycler {
	return &recycler{grace: grace, logger: logger, conns: map[net.Conn][][]byte{}}
}

// minSweep is the table size below which closed entries are left until
// the next roots change.
const minSweep = 64

// track records an accepted or dialled connection's peer chain. The
// application closes connections without telling the recycler, so closed
// ones are swept whenever the table has doubled since the last sweep:
// it stays within twice the open connections.
func (r *recycler) track(c net.Conn, chain [][]byte) {
	if c == nil || len(chain) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conns[c] = chain
	if len(r.conns) >= 2*max(r.swept, minSweep) {
		r.sweepLocked()
	}
}

func (r *recycler) sweepLocked() {
	for c := range r.conns {
		if isClosed(c) {
			delete(r.conns, c)
		}
	}
	r.swept = len(r.conns)
}

// recheck verifies every open connection's peer chain against roots; one
// that fails is closed after the grace and forgotten. It returns how many
// are being closed.
func (r *recycler) recheck(roots *ca.Roots) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweepLocked()
	var n int
	for c, chain := range r.conns {
		if _, _, err := roots.Verify(chain); err == nil {
			continue
		}
		delete(r.conns, c)
		n++
		r.logger.Info("closing a connection whose peer the roots no longer trust", "remote", c.RemoteAddr().String(), "grace", r.grace)
		time.AfterFunc(r.grace, func() { c.Close() })
	}
	r.swept = len(r.conns)
	return n
}

// isClosed reports whether c was closed (by the application, or after a
// failed handshake): a closed socket refuses even a no-op control call.
// A connection that is not a socket counts as open until a roots change
// finds its chain untrusted.
func isClosed(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	return raw.Control(func(uintptr) {}) != nil
}

// watchRoots rechecks the open connections each time the roots change
// (a leaf renewal alone changes nothing they were verified with).
func (s *Service) watchRoots(done <-chan struct{}) {
	var last *ca.Roots
	for {
		select {
		case <-done:
			return
		case <-s.certs.Changes():
		}
		_, roots, err := s.current()
		if err != nil || roots == last {
			continue
		}
		if last != nil {
			s.recycle.recheck(roots)
		}
		last = roots
	}
}

// rawChain is the peer's chain as it was sent, leaf first.
func rawChain(c tls.ConnectionState) [][]byte {
	out := make([][]byte, len(c.PeerCertificates))
	for i, cert := range c.PeerCertificates {
		out[i] = cert.Raw
	}
	return out
}
