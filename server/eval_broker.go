package server

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/roam-sh/roam/structs"
)

// failedQueue holds evaluations that reached the delivery limit; the leader
// dequeues them to mark them failed and create a delayed follow-up.
const failedQueue = "_failed"

// Broker errors.
var (
	ErrBrokerDisabled = errors.New("eval broker disabled")
	ErrEvalNotTracked = errors.New("evaluation is not outstanding")
	ErrTokenMismatch  = errors.New("evaluation token does not match")
)

// BrokerConfig tunes the eval broker.
type BrokerConfig struct {
	// NackTimeout: an evaluation not acked within it is nacked for the worker.
	NackTimeout time.Duration
	// DeliveryLimit: after this many deliveries a nacked evaluation fails.
	DeliveryLimit int
	// InitialNackDelay delays redelivery after the first nack,
	// SubsequentNackDelay after later ones.
	InitialNackDelay    time.Duration
	SubsequentNackDelay time.Duration
}

// EvalBroker queues pending evaluations for the scheduling workers. It lives
// on the leader and is rebuilt from state when leadership changes.
//
// Per job at most one evaluation is outstanding (ready or being processed);
// later evaluations of the job wait in a pending set, and when the
// outstanding one is acked the newest pending one becomes ready while the
// older ones are superseded (the scheduler reconciles the whole job, so they
// have nothing left to do) and handed to the leader for cancellation.
//
//	Enqueue ──▶ [Wait timer | WaitUntil heap] ──▶ ready[type] ──Dequeue──▶ unacked
//	              job busy? ──▶ pending[job]              ▲                 │
//	                                                     Nack (< limit) ◀──┤
//	                                     failed queue ◀── Nack (≥ limit) ◀─┤
//	                                     next pending ◀── Ack ◀────────────┘
type EvalBroker struct {
	cfg    BrokerConfig
	logger *slog.Logger

	mu      sync.Mutex
	enabled bool
	// deliveries counts dequeues of every evaluation the broker tracks.
	deliveries map[string]int
	jobEvals   map[structs.NamespacedID]string
	pending    map[structs.NamespacedID]*evalHeap
	ready      map[string]*evalHeap
	unack      map[string]*unackEval
	// requeue holds evaluations re-submitted while outstanding (a reblocked
	// evaluation unblocked again); they are enqueued once acked.
	requeue    map[string]*structs.Evaluation
	waiting    map[string]*time.Timer
	delayed    *evalHeap
	delayTimer *time.Timer
	cancelable []*structs.Evaluation
	// readyCh is closed (and replaced) whenever an evaluation becomes ready.
	readyCh chan struct{}
}

type unackEval struct {
	eval  *structs.Evaluation
	token string
	timer *time.Timer
}

// NewEvalBroker returns a disabled broker.
func NewEvalBroker(cfg BrokerConfig, logger *slog.Logger) *EvalBroker {
	b := &EvalBroker{cfg: cfg, logger: logger.With("component", "eval-broker")}
	b.reset()
	return b
}

// reset drops all state; callers hold mu (or own b exclusively).
func (b *EvalBroker) reset() {
	for _, u := range b.unack {
		u.timer.Stop()
	}
	for _, t := range b.waiting {
		t.Stop()
	}
	if b.delayTimer != nil {
		b.delayTimer.Stop()
		b.delayTimer = nil
	}
	b.deliveries = map[string]int{}
	b.jobEvals = map[structs.NamespacedID]string{}
	b.pending = map[structs.NamespacedID]*evalHeap{}
	b.ready = map[string]*evalHeap{}
	b.unack = map[string]*unackEval{}
	b.requeue = map[string]*structs.Evaluation{}
	b.waiting = map[string]*time.Timer{}
	b.delayed = &evalHeap{less: waitUntilFirst}
	b.cancelable = nil
	if b.readyCh != nil {
		close(b.readyCh)
	}
	b.readyCh = make(chan struct{})
}

// SetEnabled turns the broker on (leader) or off (follower). Turning it off
// drops every evaluation and wakes blocked Dequeue calls.
func (b *EvalBroker) SetEnabled(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.enabled = on
	if !on {
		b.reset()
	}
}

// Enabled reports whether the broker accepts evaluations.
func (b *EvalBroker) Enabled() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.enabled
}

// Enqueue adds a pending evaluation. Evaluations already tracked are ignored,
// so the FSM may report the same evaluation more than once.
func (b *EvalBroker) Enqueue(eval *structs.Evaluation) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	if _, ok := b.unack[eval.ID]; ok {
		b.requeue[eval.ID] = eval
		return
	}
	if _, ok := b.deliveries[eval.ID]; ok {
		return
	}
	b.deliveries[eval.ID] = 0
	b.schedule(eval)
}

// schedule honours an evaluation's Wait and WaitUntil before it becomes ready.
func (b *EvalBroker) schedule(eval *structs.Evaluation) {
	switch {
	case eval.Wait > 0:
		b.waiting[eval.ID] = time.AfterFunc(eval.Wait, func() { b.waitDone(eval) })
	case eval.WaitUntil.After(time.Now()):
		heap.Push(b.delayed, eval)
		b.resetDelayTimer()
	default:
		b.enqueueLocked(eval, string(eval.Type))
	}
}

func (b *EvalBroker) waitDone(eval *structs.Evaluation) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.waiting[eval.ID]; !ok {
		return
	}
	delete(b.waiting, eval.ID)
	b.enqueueLocked(eval, string(eval.Type))
}

// resetDelayTimer arms the timer for the earliest WaitUntil.
func (b *EvalBroker) resetDelayTimer() {
	if b.delayTimer != nil {
		b.delayTimer.Stop()
		b.delayTimer = nil
	}
	if b.delayed.Len() == 0 {
		return
	}
	next := b.delayed.items[0].WaitUntil
	b.delayTimer = time.AfterFunc(time.Until(next), b.releaseDelayed)
}

// releaseDelayed moves every due delayed evaluation to its ready queue.
func (b *EvalBroker) releaseDelayed() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	now := time.Now()
	for b.delayed.Len() > 0 && !b.delayed.items[0].WaitUntil.After(now) {
		eval := heap.Pop(b.delayed).(*structs.Evaluation)
		b.enqueueLocked(eval, string(eval.Type))
	}
	b.resetDelayTimer()
}

// enqueueLocked makes eval ready on queue, unless another evaluation of its
// job is outstanding, in which case it waits in the job's pending set.
func (b *EvalBroker) enqueueLocked(eval *structs.Evaluation, queue string) {
	if queue != failedQueue {
		job := eval.NamespacedJobID()
		switch cur, busy := b.jobEvals[job]; {
		case !busy:
			b.jobEvals[job] = eval.ID
		case cur != eval.ID:
			h, ok := b.pending[job]
			if !ok {
				h = &evalHeap{less: newestFirst}
				b.pending[job] = h
			}
			heap.Push(h, eval)
			return
		}
	}
	h, ok := b.ready[queue]
	if !ok {
		h = &evalHeap{less: priorityFIFO}
		b.ready[queue] = h
	}
	heap.Push(h, eval)
	close(b.readyCh)
	b.readyCh = make(chan struct{})
}

// Dequeue returns the highest-priority ready evaluation of the given
// scheduler types (oldest first among equals) and a token that Ack and Nack
// must present. It waits up to timeout (0: until ctx ends) for one.
func (b *EvalBroker) Dequeue(ctx context.Context, schedulers []string, timeout time.Duration) (*structs.Evaluation, string, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	for {
		b.mu.Lock()
		if !b.enabled {
			b.mu.Unlock()
			return nil, "", ErrBrokerDisabled
		}
		if eval, token := b.dequeueLocked(schedulers); eval != nil {
			b.mu.Unlock()
			return eval, token, nil
		}
		ch := b.readyCh
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
	}
}

func (b *EvalBroker) dequeueLocked(schedulers []string) (*structs.Evaluation, string) {
	var best *evalHeap
	for _, s := range schedulers {
		h := b.ready[s]
		if h == nil || h.Len() == 0 {
			continue
		}
		if best == nil || priorityFIFO(h.items[0], best.items[0]) {
			best = h
		}
	}
	if best == nil {
		return nil, ""
	}
	eval := heap.Pop(best).(*structs.Evaluation)
	token := structs.GenerateUUID()
	b.deliveries[eval.ID]++
	b.unack[eval.ID] = &unackEval{
		eval: eval, token: token,
		timer: time.AfterFunc(b.cfg.NackTimeout, func() { _ = b.Nack(eval.ID, token) }),
	}
	return eval, token
}

// outstanding returns the unacked entry for id if token matches.
func (b *EvalBroker) outstanding(id, token string) (*unackEval, error) {
	u, ok := b.unack[id]
	if !ok {
		return nil, fmt.Errorf("evaluation %s: %w", id, ErrEvalNotTracked)
	}
	if u.token != token {
		return nil, fmt.Errorf("evaluation %s: %w", id, ErrTokenMismatch)
	}
	return u, nil
}

// Outstanding returns the token of an evaluation being processed.
func (b *EvalBroker) Outstanding(id string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.unack[id]
	if !ok {
		return "", false
	}
	return u.token, true
}

// OutstandingReset restarts the nack timer of an evaluation that is still
// being worked on (a worker waiting for its plan to commit).
func (b *EvalBroker) OutstandingReset(id, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.outstanding(id, token)
	if err != nil {
		return err
	}
	u.timer.Reset(b.cfg.NackTimeout)
	return nil
}

// Ack marks an evaluation done. The job's newest pending evaluation becomes
// ready; older pending ones become cancelable.
func (b *EvalBroker) Ack(id, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.outstanding(id, token)
	if err != nil {
		return err
	}
	u.timer.Stop()
	delete(b.unack, id)
	delete(b.deliveries, id)
	job := u.eval.NamespacedJobID()
	if b.jobEvals[job] == id {
		delete(b.jobEvals, job)
		b.promotePending(job)
	}
	if r, ok := b.requeue[id]; ok {
		delete(b.requeue, id)
		b.deliveries[id] = 0
		b.schedule(r)
	}
	return nil
}

// promotePending makes the job's newest pending evaluation ready.
func (b *EvalBroker) promotePending(job structs.NamespacedID) {
	h, ok := b.pending[job]
	if !ok || h.Len() == 0 {
		return
	}
	delete(b.pending, job)
	next := heap.Pop(h).(*structs.Evaluation)
	for _, old := range h.items {
		delete(b.deliveries, old.ID)
		b.cancelable = append(b.cancelable, old)
	}
	b.enqueueLocked(next, string(next.Type))
}

// Nack gives an evaluation back: it is delivered again after a delay, or
// moved to the failed queue once it reached the delivery limit.
func (b *EvalBroker) Nack(id, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.outstanding(id, token)
	if err != nil {
		return err
	}
	u.timer.Stop()
	delete(b.unack, id)
	delete(b.requeue, id)
	n := b.deliveries[id]
	if n >= b.cfg.DeliveryLimit {
		b.logger.Warn("evaluation reached its delivery limit", "eval_id", id, "deliveries", n)
		b.enqueueLocked(u.eval, failedQueue)
		return nil
	}
	delay := b.cfg.SubsequentNackDelay
	if n <= 1 {
		delay = b.cfg.InitialNackDelay
	}
	eval := u.eval
	if delay <= 0 {
		b.enqueueLocked(eval, string(eval.Type))
		return nil
	}
	b.waiting[id] = time.AfterFunc(delay, func() { b.waitDone(eval) })
	return nil
}

// Cancelable returns (and forgets) up to max superseded evaluations.
func (b *EvalBroker) Cancelable(max int) []*structs.Evaluation {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(max, len(b.cancelable))
	out := b.cancelable[:n:n]
	b.cancelable = b.cancelable[n:]
	return out
}

// BrokerStats counts the broker's evaluations.
type BrokerStats struct {
	TotalReady, TotalUnacked, TotalPending, TotalWaiting, TotalFailed, TotalCancelable int
}

// Stats returns current counts.
func (b *EvalBroker) Stats() BrokerStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	var s BrokerStats
	for name, h := range b.ready {
		if name == failedQueue {
			s.TotalFailed += h.Len()
		} else {
			s.TotalReady += h.Len()
		}
	}
	for _, h := range b.pending {
		s.TotalPending += h.Len()
	}
	s.TotalUnacked = len(b.unack)
	s.TotalWaiting = len(b.waiting) + b.delayed.Len()
	s.TotalCancelable = len(b.cancelable)
	return s
}

// evalHeap is a heap of evaluations ordered by less.
type evalHeap struct {
	items []*structs.Evaluation
	less  func(a, b *structs.Evaluation) bool
}

func (h *evalHeap) Len() int           { return len(h.items) }
func (h *evalHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *evalHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *evalHeap) Push(x any)         { h.items = append(h.items, x.(*structs.Evaluation)) }
func (h *evalHeap) Pop() any {
	n := len(h.items) - 1
	x := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	return x
}

// priorityFIFO orders ready evaluations: higher priority first, then older.
func priorityFIFO(a, b *structs.Evaluation) bool {
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	if a.CreateIndex != b.CreateIndex {
		return a.CreateIndex < b.CreateIndex
	}
	return a.ID < b.ID
}

// newestFirst orders a job's pending evaluations: higher priority, then newer.
func newestFirst(a, b *structs.Evaluation) bool {
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	if a.CreateIndex != b.CreateIndex {
		return a.CreateIndex > b.CreateIndex
	}
	return a.ID > b.ID
}

func waitUntilFirst(a, b *structs.Evaluation) bool { return a.WaitUntil.Before(b.WaitUntil) }
