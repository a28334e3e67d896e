package server

import (
	"context"
	"sync"
	"time"

	"github.com/roam-sh/roam/structs"
)

// allocUpdateBatcher coalesces client allocation updates that arrive within
// a short window into one Raft entry: a busy cluster's clients report many
// small changes, and one commit for all of them costs one fsync.
type allocUpdateBatcher struct {
	srv    *Server
	window time.Duration

	mu      sync.Mutex
	pending *allocBatch
}

// allocBatch is one window's updates; done is closed once they committed.
type allocBatch struct {
	order   []string
	updates map[string]*structs.Allocation
	evals   map[structs.NamespacedID]*structs.Evaluation
	done    chan struct{}
	index   uint64
	err     error
}

func newAllocUpdateBatcher(s *Server, window time.Duration) *allocUpdateBatcher {
	return &allocUpdateBatcher{srv: s, window: window}
}

// add queues updates and evaluations (one per job per batch; the latest
// update of an allocation wins) and returns the batch they joined.
func (b *allocUpdateBatcher) add(updates []*structs.Allocation, evals []*structs.Evaluation) *allocBatch {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		b.pending = &allocBatch{
			updates: map[string]*structs.Allocation{},
			evals:   map[structs.NamespacedID]*structs.Evaluation{},
			done:    make(chan struct{}),
		}
		time.AfterFunc(b.window, b.flush)
	}
	p := b.pending
	for _, u := range updates {
		if _, ok := p.updates[u.ID]; !ok {
			p.order = append(p.order, u.ID)
		}
		p.updates[u.ID] = u
	}
	for _, e := range evals {
		if _, ok := p.evals[e.NamespacedJobID()]; !ok {
			p.evals[e.NamespacedJobID()] = e
		}
	}
	return p
}

// flush commits the pending batch.
func (b *allocUpdateBatcher) flush() {
	b.mu.Lock()
	p := b.pending
	b.pending = nil
	b.mu.Unlock()
	if p == nil {
		return
	}
	req := &structs.AllocUpdateRequest{Evals: evalList(p.evals)}
	for _, id := range p.order {
		req.Alloc = append(req.Alloc, p.updates[id])
	}
	_, p.index, p.err = b.srv.raftApply(structs.AllocClientUpdateRequestType, req)
	close(p.done)
}

// wait returns the batch's commit index.
func (p *allocBatch) wait(ctx context.Context) (uint64, error) {
	select {
	case <-p.done:
		return p.index, p.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
