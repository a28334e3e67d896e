package intentions

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/roam-sh/roam/internal/backoff"
	"github.com/roam-sh/roam/structs"
)

// Set is an immutable snapshot of intentions in evaluation order with the
// default policy: what a proxy decides a connection from.
type Set struct {
	Index   uint64
	Default Policy
	sorted  []*structs.Intention
}

// NewSet sorts a copy of list.
func NewSet(list []*structs.Intention, def Policy, index uint64) *Set {
	sorted := slices.Clone(list)
	for _, i := range sorted {
		if i.Precedence == 0 {
			i.Precedence = Precedence(i)
		}
	}
	Sort(sorted)
	return &Set{Index: index, Default: def, sorted: sorted}
}

// Decide answers whether src may connect to dst.
func (s *Set) Decide(src, dst Service) Decision { return Match(s.sorted, s.Default, src, dst) }

// Intentions returns the set in evaluation order (do not modify).
func (s *Set) Intentions() []*structs.Intention { return s.sorted }

// Lister reads intentions from the servers: with minIndex > 0 it blocks
// until the intentions change past it (or its own wait ends) and returns
// the list with the index it reflects. The client implements it over RPC.
type Lister interface {
	ListIntentions(ctx context.Context, minIndex uint64) ([]*structs.Intention, uint64, error)
}

// Cache is a node's copy of the intentions, kept fresh by blocking queries
// so that a change reaches every proxy within a round trip. Until the first
// list arrives it decides nothing (Decide denies): failing open would let a
// denied pair through while the node starts.
type Cache struct {
	lister Lister
	def    Policy
	log    *slog.Logger

	mu    sync.Mutex
	set   *Set
	ready chan struct{}
	subs  map[chan struct{}]struct{}
}

// maxSubscribers bounds watchers so a misbehaving caller cannot grow the
// cache's fan-out without limit.
const maxSubscribers = 4096

// ErrTooManySubscribers is returned by Subscribe past maxSubscribers.
var ErrTooManySubscribers = errors.New("too many intention subscribers")

// NewCache returns a cache; Run fills it.
func NewCache(l Lister, def Policy, log *slog.Logger) *Cache {
	return &Cache{lister: l, def: def, log: log, ready: make(chan struct{}), subs: map[chan struct{}]struct{}{}}
}

// Run keeps the cache fresh until ctx ends.
func (c *Cache) Run(ctx context.Context) {
	b := backoff.Backoff{Min: 100 * time.Millisecond, Max: 10 * time.Second}
	var index uint64
	for ctx.Err() == nil {
		list, idx, err := c.lister.ListIntentions(ctx, index)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Warn("list intentions", "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(b.Next()):
			}
			continue
		}
		b.Reset()
		if idx < index { // the servers' state went back (restored snapshot): start over
			idx = 0
		}
		if c.Current() == nil || idx != index {
			c.store(NewSet(list, c.def, idx))
		}
		index = idx
	}
}

func (c *Cache) store(s *Set) {
	c.mu.Lock()
	defer c.mu.Unlock()
	first := c.set == nil
	c.set = s
	if first {
		close(c.ready)
	}
	for ch := range c.subs {
		select {
		case ch <- struct{}{}:
		default: // a signal is pending already; the reader will see the newest set
		}
	}
}

// Current is the newest set, nil before the first list.
func (c *Cache) Current() *Set {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.set
}

// Ready is closed once the first list arrived.
func (c *Cache) Ready() <-chan struct{} { return c.ready }

// Decide answers from the newest set; before the first list it denies.
func (c *Cache) Decide(src, dst Service) Decision {
	s := c.Current()
	if s == nil {
		return Decision{Allowed: false, Reason: "intentions not loaded yet"}
	}
	return s.Decide(src, dst)
}

// Subscribe returns a channel signalled after every change (signals
// coalesce: read Current after one) and a function that stops it. A proxy
// re-checks its open connections on each signal to close denied ones.
func (c *Cache) Subscribe() (<-chan struct{}, func(), error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.subs) >= maxSubscribers {
		return nil, nil, ErrTooManySubscribers
	}
	ch := make(chan struct{}, 1)
	c.subs[ch] = struct{}{}
	return ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.subs, ch)
	}, nil
}

// Wait returns the newest set once its index passes minIndex, or the
// newest set there is (nil before the first list) when ctx ends first: a
// blocking query over the node's copy, so a proxy learns of a change as
// soon as the node does without asking the servers itself.
func (c *Cache) Wait(ctx context.Context, minIndex uint64) (*Set, error) {
	ch, stop, err := c.Subscribe()
	if err != nil {
		return nil, err
	}
	defer stop()
	for {
		if s := c.Current(); s != nil && s.Index > minIndex {
			return s, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return c.Current(), nil
		}
	}
}
