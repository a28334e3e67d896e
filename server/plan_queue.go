package server

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/roam-sh/roam/structs"
)

// ErrPlanQueueDisabled is returned when plans are submitted to a server that
// is not (or no longer) the leader.
var ErrPlanQueueDisabled = errors.New("plan queue disabled")

// PlanQueue orders submitted plans for the plan applier: higher priority
// first, then first come first served.
type PlanQueue struct {
	mu      sync.Mutex
	enabled bool
	heap    planHeap
	seq     uint64
	readyCh chan struct{}
}

// pendingPlan is a submitted plan waiting for its result.
type pendingPlan struct {
	plan     *structs.Plan
	seq      uint64
	enqueued time.Time
	done     chan struct{}
	result   *structs.PlanResult
	err      error
}

func (p *pendingPlan) respond(result *structs.PlanResult, err error) {
	p.result, p.err = result, err
	close(p.done)
}

// wait returns the plan's result; every tick it calls keepalive (the worker
// keeps its evaluation from being nacked while the plan waits).
func (p *pendingPlan) wait(ctx context.Context, tick time.Duration, keepalive func()) (*structs.PlanResult, error) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return p.result, p.err
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
			keepalive()
		}
	}
}

// NewPlanQueue returns a disabled queue.
func NewPlanQueue() *PlanQueue { return &PlanQueue{readyCh: make(chan struct{})} }

// SetEnabled turns the queue on or off; off fails every queued plan.
func (q *PlanQueue) SetEnabled(on bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.enabled = on
	if on {
		return
	}
	for _, p := range q.heap {
		p.respond(nil, ErrPlanQueueDisabled)
	}
	q.heap = nil
	close(q.readyCh)
	q.readyCh = make(chan struct{})
}

// Enqueue submits a plan.
func (q *PlanQueue) Enqueue(plan *structs.Plan) (*pendingPlan, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.enabled {
		return nil, ErrPlanQueueDisabled
	}
	q.seq++
	p := &pendingPlan{plan: plan, seq: q.seq, enqueued: time.Now(), done: make(chan struct{})}
	heap.Push(&q.heap, p)
	close(q.readyCh)
	q.readyCh = make(chan struct{})
	return p, nil
}

// Dequeue waits for the next plan.
func (q *PlanQueue) Dequeue(ctx context.Context) (*pendingPlan, error) {
	for {
		q.mu.Lock()
		if !q.enabled {
			q.mu.Unlock()
			return nil, ErrPlanQueueDisabled
		}
		if len(q.heap) > 0 {
			p := heap.Pop(&q.heap).(*pendingPlan)
			q.mu.Unlock()
			return p, nil
		}
		ch := q.readyCh
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Len returns the number of queued plans.
func (q *PlanQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.heap)
}

type planHeap []*pendingPlan

func (h planHeap) Len() int { return len(h) }
func (h planHeap) Less(i, j int) bool {
	if h[i].plan.Priority != h[j].plan.Priority {
		return h[i].plan.Priority > h[j].plan.Priority
	}
	return h[i].seq < h[j].seq
}
func (h planHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *planHeap) Push(x any)   { *h = append(*h, x.(*pendingPlan)) }
func (h *planHeap) Pop() any {
	old := *h
	n := len(old) - 1
	x := old[n]
	old[n] = nil
	*h = old[:n]
	return x
}
