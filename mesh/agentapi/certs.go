package agentapi

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/roam-sh/roam/internal/backoff"
	"github.com/roam-sh/roam/mesh/ca"
)

// ErrNotReady is returned while the first leaf and roots are not loaded.
var ErrNotReady = errors.New("no leaf certificate and roots yet")

// Certs keeps a service's leaf and the trust bundle current with blocking
// queries, for the proxy and for native applications alike: a renewed leaf
// or a new root is used from the next handshake on, the moment the agent
// answers (a root rotation renews every leaf on the node at once), and
// Changes announces it, so the proxy can move new connections onto the
// new leaf and recycle those the new roots no longer trust.
type Certs struct {
	c       *Client
	service string
	q       url.Values // the namespace (ns), when there is one
	logger  *slog.Logger

	mu      sync.RWMutex
	leaf    *tls.Certificate
	roots   *ca.Roots
	ready   chan struct{}
	once    sync.Once
	changes chan struct{}
}

// NewCerts returns a watcher of service's leaf; Run starts it.
func NewCerts(c *Client, service string, q url.Values, logger *slog.Logger) *Certs {
	return &Certs{c: c, service: service, q: q, logger: logger, ready: make(chan struct{}), changes: make(chan struct{}, 1)}
}

// Current returns the leaf and roots for the next handshake.
func (w *Certs) Current() (*tls.Certificate, *ca.Roots, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.leaf == nil || w.roots == nil {
		return nil, nil, ErrNotReady
	}
	return w.leaf, w.roots, nil
}

// Changes receives a value after the leaf or the roots changed, once both
// are loaded (signals coalesce: read Current after one).
func (w *Certs) Changes() <-chan struct{} { return w.changes }

// Ready is closed once both the leaf and the roots arrived.
func (w *Certs) Ready() <-chan struct{} { return w.ready }

// Run keeps roots and leaf current until ctx ends.
func (w *Certs) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() { defer close(done); w.loop(ctx, "roots", w.fetchRoots) }()
	w.loop(ctx, "leaf", w.fetchLeaf)
	<-done
}

// loop runs one blocking-query watch. A failure, or an answer that came
// back at once without a newer index, waits a backoff so a missing
// endpoint is not asked in a tight loop.
func (w *Certs) loop(ctx context.Context, what string, fetch func(context.Context, uint64) (uint64, error)) {
	bo := backoff.Backoff{Min: 200 * time.Millisecond, Max: 10 * time.Second}
	var idx uint64
	for ctx.Err() == nil {
		start := time.Now()
		next, err := fetch(ctx, idx)
		if err != nil && ctx.Err() == nil {
			w.logger.Warn("connect certificates", "what", what, "error", err)
		}
		if err == nil && (next > idx || time.Since(start) > time.Second) {
			idx = next
			bo.Reset()
			continue
		}
		select {
		case <-time.After(bo.Next()):
		case <-ctx.Done():
		}
	}
}

func (w *Certs) fetchRoots(ctx context.Context, idx uint64) (uint64, error) {
	roots, next, err := w.c.Roots(ctx, idx)
	if err != nil {
		return 0, err
	}
	w.set(func() { w.roots = roots })
	return next, nil
}

func (w *Certs) fetchLeaf(ctx context.Context, idx uint64) (uint64, error) {
	// Blocking adds to the query it is given: pass a copy.
	q := url.Values{}
	for k, v := range w.q {
		q[k] = v
	}
	leaf, next, err := w.c.Leaf(ctx, w.service, q, idx)
	if err != nil {
		return 0, err
	}
	w.set(func() { w.leaf = leaf })
	return next, nil
}

// set applies a change and closes Ready once both parts are in.
func (w *Certs) set(change func()) {
	w.mu.Lock()
	change()
	loaded := w.leaf != nil && w.roots != nil
	w.mu.Unlock()
	if !loaded {
		return
	}
	w.once.Do(func() { close(w.ready) })
	select {
	case w.changes <- struct{}{}:
	default: // a signal is pending already
	}
}
