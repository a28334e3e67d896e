package server

import (
	"log/slog"
	"sync"

	"github.com/roam-sh/roam/structs"
)

// BlockedEvals holds evaluations that could not place everything until
// capacity may have appeared. It lives on the leader beside the broker.
//
// A blocked evaluation records, per node class, whether the class was
// feasible for the job (ClassEligibility). When capacity changes on a node of
// class C, evaluations for which C is eligible or unknown are unblocked, and
// so is every evaluation that escaped class tracking (its constraints look
// at node-unique attributes, so a class says nothing about feasibility).
//
// One blocked evaluation is kept per job: a newer one replaces the older,
// which becomes a duplicate for the leader to cancel.
type BlockedEvals struct {
	broker *EvalBroker
	logger *slog.Logger

	mu      sync.Mutex
	enabled bool
	// captured are blocked evaluations with class eligibility; escaped those
	// without. Both keyed by evaluation ID.
	captured map[string]*structs.Evaluation
	escaped  map[string]*structs.Evaluation
	jobs     map[structs.NamespacedID]string
	// unblockIndexes records the Raft index of the last capacity change per
	// class, to catch evaluations that blocked on a snapshot older than it.
	unblockIndexes map[string]uint64
	duplicates     []*structs.Evaluation
	// dupCh is signalled when duplicates are waiting to be cancelled.
	dupCh chan struct{}
}

// NewBlockedEvals returns a disabled tracker that unblocks into broker.
func NewBlockedEvals(broker *EvalBroker, logger *slog.Logger) *BlockedEvals {
	b := &BlockedEvals{broker: broker, logger: logger.With("component", "blocked-evals"), dupCh: make(chan struct{}, 1)}
	b.reset()
	return b
}

func (b *BlockedEvals) reset() {
	b.captured = map[string]*structs.Evaluation{}
	b.escaped = map[string]*structs.Evaluation{}
	b.jobs = map[structs.NamespacedID]string{}
	b.unblockIndexes = map[string]uint64{}
	b.duplicates = nil
}

// SetEnabled turns tracking on (leader) or off, dropping everything.
func (b *BlockedEvals) SetEnabled(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.enabled = on
	if !on {
		b.reset()
	}
}

func (b *BlockedEvals) lookup(id string) *structs.Evaluation {
	if e, ok := b.captured[id]; ok {
		return e
	}
	return b.escaped[id]
}

func (b *BlockedEvals) remove(id string) {
	e := b.lookup(id)
	if e == nil {
		return
	}
	delete(b.captured, id)
	delete(b.escaped, id)
	if b.jobs[e.NamespacedJobID()] == id {
		delete(b.jobs, e.NamespacedJobID())
	}
}

// Block tracks a blocked evaluation. If capacity changed after the snapshot
// it was scheduled on, it goes straight back to the broker.
func (b *BlockedEvals) Block(eval *structs.Evaluation) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled || b.lookup(eval.ID) != nil {
		return
	}
	job := eval.NamespacedJobID()
	if oldID, ok := b.jobs[job]; ok {
		old := b.lookup(oldID)
		if old.CreateIndex > eval.CreateIndex {
			b.addDuplicate(eval)
			return
		}
		b.remove(oldID)
		b.addDuplicate(old)
	}
	if b.missedUnblock(eval) {
		b.broker.Enqueue(eval)
		return
	}
	b.jobs[job] = eval.ID
	if eval.EscapedComputedClass {
		b.escaped[eval.ID] = eval
	} else {
		b.captured[eval.ID] = eval
	}
}

func (b *BlockedEvals) addDuplicate(eval *structs.Evaluation) {
	b.duplicates = append(b.duplicates, eval)
	select {
	case b.dupCh <- struct{}{}:
	default:
	}
}

// missedUnblock reports whether a class the evaluation may use gained
// capacity after its snapshot.
func (b *BlockedEvals) missedUnblock(eval *structs.Evaluation) bool {
	for class, index := range b.unblockIndexes {
		if index <= eval.SnapshotIndex {
			continue
		}
		if eligibleFor(eval, class) {
			return true
		}
	}
	return false
}

// eligibleFor reports whether capacity on class may help eval.
func eligibleFor(eval *structs.Evaluation, class string) bool {
	if eval.EscapedComputedClass {
		return true
	}
	elig, known := eval.ClassEligibility[class]
	return !known || elig
}

// Unblock re-enqueues the evaluations that capacity on class may help.
func (b *BlockedEvals) Unblock(class string, index uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	b.unblockIndexes[class] = max(b.unblockIndexes[class], index)
	var out []*structs.Evaluation
	for _, e := range b.escaped {
		out = append(out, e)
	}
	for _, e := range b.captured {
		if eligibleFor(e, class) {
			out = append(out, e)
		}
	}
	for _, e := range out {
		b.remove(e.ID)
		b.broker.Enqueue(e)
	}
	if len(out) > 0 {
		b.logger.Debug("unblocked evaluations", "class", class, "count", len(out), "index", index)
	}
}

// Untrack forgets the job's blocked evaluation (a later evaluation placed
// everything) and queues it for cancellation.
func (b *BlockedEvals) Untrack(job structs.NamespacedID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id, ok := b.jobs[job]
	if !ok {
		return
	}
	e := b.lookup(id)
	b.remove(id)
	b.addDuplicate(e)
}

// Duplicates returns (and forgets) the evaluations to cancel.
func (b *BlockedEvals) Duplicates() []*structs.Evaluation {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.duplicates
	b.duplicates = nil
	return out
}

// DuplicatesCh is signalled when Duplicates has something.
func (b *BlockedEvals) DuplicatesCh() <-chan struct{} { return b.dupCh }

// BlockedStats counts tracked evaluations.
type BlockedStats struct {
	TotalBlocked, TotalEscaped int
}

// Stats returns current counts.
func (b *BlockedEvals) Stats() BlockedStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return BlockedStats{TotalBlocked: len(b.captured) + len(b.escaped), TotalEscaped: len(b.escaped)}
}

// Blocked reports whether the job has a tracked blocked evaluation.
func (b *BlockedEvals) Blocked(job structs.NamespacedID) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id, ok := b.jobs[job]
	return id, ok
}
