package checks

import (
	"cmp"
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/roam-sh/roam/structs"
)

// SendFunc sends one batch of health updates to the servers with token
// (an allocation's workload identity; "" for the node's standing): the
// client passes the catalog's UpdateHealth RPC.
type SendFunc func(ctx context.Context, token string, updates []*structs.ServiceHealthUpdate) error

// Batcher defaults.
const (
	// DefaultBatchWindow is how long a change waits for others to join
	// its batch: short beside a check interval, long enough that checks
	// failing together (a task dying) go in one RPC.
	DefaultBatchWindow = 100 * time.Millisecond
	// maxBatch stays under the servers' bound on one request.
	maxBatch = 1024
	// maxRetryDelay caps the back-off after a failed send.
	maxRetryDelay = 10 * time.Second
)

// Batcher sends health updates to the servers in batches: one RPC per
// token for every change queued within the window, an instance's newer
// update replacing an older one not yet sent (the update carries all the
// instance's checks, so only the latest matters). A failed send is
// retried with back-off, unless a newer update for the instance came
// meanwhile.
type Batcher struct {
	send   SendFunc
	window time.Duration
	logger *slog.Logger

	mu      sync.Mutex
	pending map[string]queued // by registration ID
	seq     uint64            // orders updates: a requeued one never beats a newer one
	wake    chan struct{}
}

type queued struct {
	token  string
	update *structs.ServiceHealthUpdate
	seq    uint64
}

// NewBatcher returns a batcher; window 0 means DefaultBatchWindow. Run
// sends.
func NewBatcher(send SendFunc, window time.Duration, logger *slog.Logger) *Batcher {
	if window <= 0 {
		window = DefaultBatchWindow
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Batcher{send: send, window: window, logger: logger, pending: map[string]queued{}, wake: make(chan struct{}, 1)}
}

// Put queues u, replacing a queued update of the same instance.
func (b *Batcher) Put(token string, u *structs.ServiceHealthUpdate) {
	b.mu.Lock()
	b.seq++
	b.pending[u.ID] = queued{token: token, update: u, seq: b.seq}
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Pending returns the number of instances with an update not yet sent.
func (b *Batcher) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// Run sends batches until ctx ends; what is still queued then is dropped
// (a restarted client reports its checks' statuses again).
func (b *Batcher) Run(ctx context.Context) {
	delay := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.wake:
		}
		if !sleep(ctx, max(b.window, delay)) {
			return
		}
		if b.flush(ctx) {
			delay = 0
			continue
		}
		delay = min(max(2*delay, 250*time.Millisecond), maxRetryDelay)
		select { // retry even if nothing new is put
		case b.wake <- struct{}{}:
		default:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// flush sends everything queued, one RPC per token and at most maxBatch
// updates each, and requeues what failed. It reports whether all went.
func (b *Batcher) flush(ctx context.Context) bool {
	b.mu.Lock()
	taken := b.pending
	b.pending = map[string]queued{}
	b.mu.Unlock()
	byToken := map[string][]queued{}
	for _, q := range taken {
		byToken[q.token] = append(byToken[q.token], q)
	}
	ok := true
	for _, token := range slices.Sorted(maps.Keys(byToken)) {
		qs := byToken[token]
		slices.SortFunc(qs, func(a, c queued) int { return cmp.Compare(a.seq, c.seq) })
		for chunk := range slices.Chunk(qs, maxBatch) {
			ups := make([]*structs.ServiceHealthUpdate, len(chunk))
			for i, q := range chunk {
				ups[i] = q.update
			}
			if err := b.send(ctx, token, ups); err != nil {
				if ctx.Err() == nil {
					b.logger.Warn("sending check status changes to the servers; will retry", "updates", len(ups), "error", err)
				}
				b.requeue(chunk)
				ok = false
			}
		}
	}
	return ok
}

// requeue puts failed updates back unless a newer one came meanwhile.
func (b *Batcher) requeue(qs []queued) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, q := range qs {
		if cur, ok := b.pending[q.update.ID]; !ok || cur.seq < q.seq {
			b.pending[q.update.ID] = q
		}
	}
}
