package proxy

import (
	"sync"
	"time"
)

// Instance is one healthy instance of a destination's sidecar proxy.
type Instance struct {
	// Addr is host:port of the instance's public listener.
	Addr string
}

// Ejection decides when a failing instance is skipped: after MaxFailures
// failed connects in a row it is ejected for Duration. The zero value uses
// 3 failures and 30 s, close to Envoy's outlier detection defaults.
type Ejection struct {
	MaxFailures int
	Duration    time.Duration
}

func (e Ejection) withDefaults() Ejection {
	if e.MaxFailures <= 0 {
		e.MaxFailures = 3
	}
	if e.Duration <= 0 {
		e.Duration = 30 * time.Second
	}
	return e
}

// balancer chooses instances round robin, skipping ejected ones. It is
// safe for concurrent use.
type balancer struct {
	policy Ejection
	now    func() time.Time

	mu    sync.Mutex
	next  uint64
	fails map[string]int
	until map[string]time.Time
}

func newBalancer(e Ejection, now func() time.Time) *balancer {
	if now == nil {
		now = time.Now
	}
	return &balancer{policy: e.withDefaults(), now: now, fails: map[string]int{}, until: map[string]time.Time{}}
}

// order returns the instances in the order to try them for one
// connection: the round-robin start first, ejected instances left out
// (all of them, in order, if every one is ejected: trying beats refusing).
func (b *balancer) order(insts []Instance) []Instance {
	if len(insts) == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	start := int(b.next % uint64(len(insts)))
	b.next++
	now := b.now()
	var out []Instance
	for i := range insts {
		in := insts[(start+i)%len(insts)]
		if t, ok := b.until[in.Addr]; ok && now.Before(t) {
			continue
		}
		out = append(out, in)
	}
	if len(out) == 0 {
		for i := range insts {
			out = append(out, insts[(start+i)%len(insts)])
		}
	}
	return out
}

// failed records a failed connect; the instance is ejected once it failed
// MaxFailures times in a row.
func (b *balancer) failed(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fails[addr]++
	if b.fails[addr] >= b.policy.MaxFailures {
		b.until[addr] = b.now().Add(b.policy.Duration)
		b.fails[addr] = 0
	}
}

// succeeded clears an instance's failures.
func (b *balancer) succeeded(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.fails, addr)
	delete(b.until, addr)
}

// ejected reports whether addr is ejected now.
func (b *balancer) ejected(addr string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.until[addr]
	return ok && b.now().Before(t)
}
