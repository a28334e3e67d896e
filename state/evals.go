package state

import (
	"fmt"
	"sort"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// UpsertEvals stores evaluations and refreshes the status of their jobs.
func (s *StateStore) UpsertEvals(index uint64, evals []*structs.Evaluation) error {
	return s.write(func(txn *memdb.Txn) error { return upsertEvalsTxn(txn, index, evals) })
}

func upsertEvalsTxn(txn *memdb.Txn, index uint64, evals []*structs.Evaluation) error {
	jobs := map[structs.NamespacedID]struct{}{}
	for _, e := range evals {
		if err := upsertEvalTxn(txn, index, e); err != nil {
			return err
		}
		jobs[e.NamespacedJobID()] = struct{}{}
	}
	if len(evals) == 0 {
		return nil
	}
	if err := setJobStatuses(txn, index, jobs); err != nil {
		return err
	}
	return setIndex(txn, index, tableEvals)
}

func upsertEvalTxn(txn *memdb.Txn, index uint64, eval *structs.Evaluation) error {
	e := eval.Copy()
	existing, err := txn.First(tableEvals, "id", e.ID)
	if err != nil {
		return fmt.Errorf("eval lookup: %w", err)
	}
	if existing != nil {
		e.CreateIndex = existing.(*structs.Evaluation).CreateIndex
	} else {
		e.CreateIndex = index
	}
	e.ModifyIndex = index
	if err := setQueued(txn, index, e); err != nil {
		return err
	}
	if err := txn.Insert(tableEvals, e); err != nil {
		return fmt.Errorf("insert eval: %w", err)
	}
	return nil
}

// DeleteEvals removes evaluations and allocations (garbage collection).
func (s *StateStore) DeleteEvals(index uint64, evalIDs, allocIDs []string) error {
	return s.write(func(txn *memdb.Txn) error {
		jobs := map[structs.NamespacedID]struct{}{}
		for _, id := range evalIDs {
			raw, err := txn.First(tableEvals, "id", id)
			if err != nil || raw == nil {
				continue
			}
			e := raw.(*structs.Evaluation)
			jobs[e.NamespacedJobID()] = struct{}{}
			if err := txn.Delete(tableEvals, raw); err != nil {
				return fmt.Errorf("delete eval: %w", err)
			}
		}
		var removed []allocChange
		for _, id := range allocIDs {
			raw, err := txn.First(tableAllocs, "id", id)
			if err != nil || raw == nil {
				continue
			}
			if err := txn.Delete(tableAllocs, raw); err != nil {
				return fmt.Errorf("delete alloc: %w", err)
			}
			if err := touchNodeAllocs(txn, index, raw.(*structs.Allocation).NodeID); err != nil {
				return err
			}
			removed = append(removed, allocChange{old: raw.(*structs.Allocation)})
		}
		if err := applyUsage(txn, removed); err != nil {
			return err
		}
		for id := range jobs {
			raw, _ := txn.First(tableJobs, "id", id.Namespace, id.ID)
			if raw == nil {
				continue
			}
			if err := setJobStatus(txn, index, raw.(*structs.Job), true); err != nil {
				return err
			}
		}
		return setIndex(txn, index, tableEvals, tableAllocs)
	})
}

// EvalByID returns an evaluation, or nil.
func (s *StateStore) EvalByID(ws memdb.WatchSet, id string) (*structs.Evaluation, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableEvals, "id", id)
	if err != nil {
		// A malformed ID cannot match anything.
		return nil, nil
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.Evaluation), nil
}

// maxRelatedEvals bounds the walk of EvalsRelatedToID: a chain of blocked,
// follow-up and continuation evaluations is short, and a read must not walk
// an unbounded one.
const maxRelatedEvals = 256

// EvalsRelatedToID returns the evaluations linked to id through NextEval,
// PreviousEval and BlockedEval, transitively (id itself excluded), nearest
// first.
func (s *StateStore) EvalsRelatedToID(ws memdb.WatchSet, id string) ([]*structs.EvaluationStub, error) {
	eval, err := s.EvalByID(ws, id)
	if eval == nil || err != nil {
		return nil, err
	}
	seen := map[string]bool{id: true}
	todo := eval.RelatedIDs()
	var out []*structs.EvaluationStub
	for len(todo) > 0 && len(out) < maxRelatedEvals {
		next := todo[0]
		todo = todo[1:]
		if next == "" || seen[next] {
			continue
		}
		seen[next] = true
		e, err := s.EvalByID(ws, next)
		if err != nil {
			return nil, err
		}
		if e == nil {
			continue
		}
		out = append(out, e.RelatedStub())
		todo = append(todo, e.RelatedIDs()...)
	}
	return out, nil
}

// EvalsByJob returns a job's evaluations, newest first.
func (s *StateStore) EvalsByJob(ws memdb.WatchSet, namespace, jobID string) ([]*structs.Evaluation, error) {
	evals, err := collect[*structs.Evaluation](ws)(s.db.Txn(false).Get(tableEvals, "job", namespace, jobID))
	if err != nil {
		return nil, fmt.Errorf("job evals lookup: %w", err)
	}
	sort.Slice(evals, func(i, j int) bool { return evals[i].CreateIndex > evals[j].CreateIndex })
	return evals, nil
}

// Evals returns evaluations of a namespace ("*" or "" for all), optionally by ID prefix.
func (s *StateStore) Evals(ws memdb.WatchSet, namespace, prefix string) ([]*structs.Evaluation, error) {
	out, err := listByIDPrefix[*structs.Evaluation](s.db.Txn(false), ws, tableEvals, prefix)
	if err != nil {
		return nil, err
	}
	return filterNS(out, namespace, func(e *structs.Evaluation) string { return e.Namespace }), nil
}

// EvalsIndex returns the evals table index, watching it.
func (s *StateStore) EvalsIndex(ws memdb.WatchSet) uint64 {
	return s.indexIn(ws, s.db.Txn(false), tableEvals)
}

func filterNS[T any](in []T, namespace string, ns func(T) string) []T {
	if namespace == "" || namespace == "*" {
		return in
	}
	out := in[:0:0]
	for _, v := range in {
		if ns(v) == namespace {
			out = append(out, v)
		}
	}
	return out
}
