package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

type allocChange struct{ old, new *structs.Allocation }

// UpsertPlanResults commits a plan: stopped allocations, new and updated
// allocations, and evaluations written with it, in one transaction.
func (s *StateStore) UpsertPlanResults(index uint64, req *structs.ApplyPlanResultsRequest) error {
	return s.write(func(txn *memdb.Txn) error {
		job := sharedJobVersion(txn, req.Job)
		if err := upsertDeploymentTxn(txn, index, req.Deployment); err != nil {
			return err
		}
		for _, u := range req.DeploymentUpdates {
			if err := updateDeploymentStatusTxn(txn, index, u); err != nil && !isNotFound(err) {
				return err
			}
		}
		var changes []allocChange
		for _, stop := range req.AllocsStopped {
			ch, err := stopAllocTxn(txn, index, stop, req.UpdatedAt)
			if err != nil {
				return err
			}
			if ch.new != nil {
				changes = append(changes, ch)
			}
		}
		for _, a := range req.AllocsUpdated {
			a = a.CopySkipJob()
			a.Job = job
			ch, err := upsertAllocTxn(txn, index, a, req.UpdatedAt)
			if err != nil {
				return err
			}
			changes = append(changes, ch)
		}
		if err := finishAllocChanges(txn, index, changes); err != nil {
			return err
		}
		return upsertEvalsTxn(txn, index, req.UpdatedEvals)
	})
}

// sharedJobVersion returns the stored pointer for the job version, so that
// all allocations of a version share one Job in memory.
func sharedJobVersion(txn *memdb.Txn, job *structs.Job) *structs.Job {
	if job == nil {
		return nil
	}
	if raw, err := txn.First(tableJobVersions, "id", job.Namespace, job.ID, job.Version); err == nil && raw != nil {
		return raw.(*structs.Job)
	}
	return job
}

func stopAllocTxn(txn *memdb.Txn, index uint64, stop *structs.Allocation, now int64) (allocChange, error) {
	raw, err := txn.First(tableAllocs, "id", stop.ID)
	if err != nil {
		return allocChange{}, fmt.Errorf("alloc lookup: %w", err)
	}
	if raw == nil {
		return allocChange{}, nil
	}
	old := raw.(*structs.Allocation)
	a := shallowCopy(old)
	a.DesiredStatus = stop.DesiredStatus
	a.DesiredDescription = stop.DesiredDescription
	if stop.ClientStatus != "" && !old.ClientTerminalStatus() {
		a.ClientStatus = stop.ClientStatus
	}
	if stop.FollowupEvalID != "" {
		a.FollowupEvalID = stop.FollowupEvalID
	}
	if stop.NextAllocation != "" {
		// The scheduler names the replacement of an allocation it stops.
		a.NextAllocation = stop.NextAllocation
	}
	a.ModifyIndex, a.AllocModifyIndex = index, index
	a.ModifyTime = stamped(now, old.ModifyTime)
	if err := txn.Insert(tableAllocs, a); err != nil {
		return allocChange{}, fmt.Errorf("insert alloc: %w", err)
	}
	return allocChange{old: old, new: a}, touchNodeAllocs(txn, index, a.NodeID)
}

// upsertAllocTxn inserts a new allocation or applies a scheduler update to an
// existing one. What the client reported is kept: the scheduler's copy of those
// fields may be stale. now is the plan applier's time, carried in the entry.
func upsertAllocTxn(txn *memdb.Txn, index uint64, a *structs.Allocation, now int64) (allocChange, error) {
	raw, err := txn.First(tableAllocs, "id", a.ID)
	if err != nil {
		return allocChange{}, fmt.Errorf("alloc lookup: %w", err)
	}
	var old *structs.Allocation
	if raw == nil {
		a.CreateIndex = index
		if a.CreateTime == 0 {
			a.CreateTime = now
		}
		if a.ClientStatus == "" {
			a.ClientStatus = structs.AllocClientStatusPending
		}
	} else {
		old = raw.(*structs.Allocation)
		a.CreateIndex, a.CreateTime = old.CreateIndex, old.CreateTime
		a.ClientStatus, a.ClientDescription = old.ClientStatus, old.ClientDescription
		a.TaskStates, a.NetworkStatus = old.TaskStates, old.NetworkStatus
		if a.Job == nil {
			a.Job = old.Job
		}
	}
	if a.Job != nil {
		a.JobVersion = a.Job.Version
	}
	a.ModifyIndex, a.AllocModifyIndex = index, index
	a.ModifyTime = stamped(now, a.ModifyTime)
	if err := txn.Insert(tableAllocs, a); err != nil {
		return allocChange{}, fmt.Errorf("insert alloc: %w", err)
	}
	if old != nil && old.NodeID != a.NodeID {
		if err := touchNodeAllocs(txn, index, old.NodeID); err != nil {
			return allocChange{}, err
		}
	}
	return allocChange{old: old, new: a}, touchNodeAllocs(txn, index, a.NodeID)
}

// UpsertAllocs inserts or replaces allocations exactly as given, client
// fields included (tests and tools; the Raft path uses UpsertPlanResults).
func (s *StateStore) UpsertAllocs(index uint64, allocs []*structs.Allocation) error {
	return s.write(func(txn *memdb.Txn) error {
		var changes []allocChange
		for _, a := range allocs {
			a = a.Copy()
			a.Job = sharedJobVersion(txn, a.Job)
			raw, err := txn.First(tableAllocs, "id", a.ID)
			if err != nil {
				return fmt.Errorf("alloc lookup: %w", err)
			}
			var old *structs.Allocation
			a.CreateIndex = index
			if raw != nil {
				old = raw.(*structs.Allocation)
				a.CreateIndex = old.CreateIndex
			}
			if a.Job != nil {
				a.JobVersion = a.Job.Version
			}
			a.ModifyIndex, a.AllocModifyIndex = index, index
			if err := txn.Insert(tableAllocs, a); err != nil {
				return fmt.Errorf("insert alloc: %w", err)
			}
			if err := touchNodeAllocs(txn, index, a.NodeID); err != nil {
				return err
			}
			changes = append(changes, allocChange{old: old, new: a})
		}
		return finishAllocChanges(txn, index, changes)
	})
}

// UpdateAllocsFromClient records what clients report about their allocations.
// AllocModifyIndex is left alone: the client already has these changes.
func (s *StateStore) UpdateAllocsFromClient(index uint64, updates []*structs.Allocation) error {
	return s.write(func(txn *memdb.Txn) error {
		var changes []allocChange
		for _, u := range updates {
			raw, err := txn.First(tableAllocs, "id", u.ID)
			if err != nil {
				return fmt.Errorf("alloc lookup: %w", err)
			}
			if raw == nil {
				continue
			}
			old := raw.(*structs.Allocation)
			a := shallowCopy(old)
			a.ClientStatus, a.ClientDescription = u.ClientStatus, u.ClientDescription
			a.TaskStates = u.TaskStates
			if u.NetworkStatus != nil {
				a.NetworkStatus = u.NetworkStatus
			}
			if u.DeploymentStatus != nil {
				a.DeploymentStatus = mergeClientHealth(old.DeploymentStatus, u.DeploymentStatus, index)
			}
			a.ModifyIndex = index
			a.ModifyTime = stamped(u.ModifyTime, old.ModifyTime)
			if err := txn.Insert(tableAllocs, a); err != nil {
				return fmt.Errorf("insert alloc: %w", err)
			}
			changes = append(changes, allocChange{old: old, new: a})
		}
		return finishAllocChanges(txn, index, changes)
	})
}

// mergeClientHealth merges a client's report of an allocation's deployment
// health into the servers' record: the client decides only Healthy and its
// Timestamp; Canary is the servers' (placement sets it, promotion clears
// it), so a report sent before a promotion cannot make a promoted
// allocation a canary again.
func mergeClientHealth(old, u *structs.AllocDeploymentStatus, index uint64) *structs.AllocDeploymentStatus {
	ds := &structs.AllocDeploymentStatus{Healthy: u.Healthy, Timestamp: u.Timestamp, ModifyIndex: index}
	if old != nil {
		ds.Canary = old.Canary
	}
	return ds
}

// UpdateAllocsDesiredTransitions sets desired transitions (for example a user's
// `alloc stop`) and stores the evaluations that act on them.
func (s *StateStore) UpdateAllocsDesiredTransitions(index uint64, transitions map[string]*structs.DesiredTransition, evals []*structs.Evaluation) error {
	return s.write(func(txn *memdb.Txn) error {
		for id, tr := range transitions {
			raw, err := txn.First(tableAllocs, "id", id)
			if err != nil {
				return fmt.Errorf("alloc lookup: %w", err)
			}
			if raw == nil {
				continue
			}
			a := shallowCopy(raw.(*structs.Allocation))
			mergeTransition(&a.DesiredTransition, tr)
			a.ModifyIndex, a.AllocModifyIndex = index, index
			if err := txn.Insert(tableAllocs, a); err != nil {
				return fmt.Errorf("insert alloc: %w", err)
			}
			if err := touchNodeAllocs(txn, index, a.NodeID); err != nil {
				return err
			}
		}
		if err := setIndex(txn, index, tableAllocs); err != nil {
			return err
		}
		return upsertEvalsTxn(txn, index, evals)
	})
}

// shallowCopy returns a copy of a stored allocation whose top-level fields a
// write may set. Nested values (resources, metrics, task states, trackers)
// stay shared with the stored version: nothing in the store is modified in
// place, and writes replace nested values rather than edit them. A deep copy
// here cost a third of applying a batch of client updates.
func shallowCopy(a *structs.Allocation) *structs.Allocation {
	c := *a
	return &c
}

func mergeTransition(dst *structs.DesiredTransition, src *structs.DesiredTransition) {
	if src.Migrate != nil {
		dst.Migrate = src.Migrate
	}
	if src.Reschedule != nil {
		dst.Reschedule = src.Reschedule
	}
	if src.ForceReschedule != nil {
		dst.ForceReschedule = src.ForceReschedule
	}
	if src.NoShutdownDelay != nil {
		dst.NoShutdownDelay = src.NoShutdownDelay
	}
}

func finishAllocChanges(txn *memdb.Txn, index uint64, changes []allocChange) error {
	if len(changes) == 0 {
		return nil
	}
	if err := applyUsage(txn, changes); err != nil {
		return err
	}
	if err := dropServicesOfEndedAllocs(txn, index, changes); err != nil {
		return err
	}
	if err := updateSummaryWithAllocs(txn, index, changes); err != nil {
		return err
	}
	if err := countDeploymentAllocs(txn, index, changes); err != nil {
		return err
	}
	jobs := map[structs.NamespacedID]struct{}{}
	for _, ch := range changes {
		jobs[structs.NamespacedID{ID: ch.new.JobID, Namespace: ch.new.Namespace}] = struct{}{}
	}
	if err := setJobStatuses(txn, index, jobs); err != nil {
		return err
	}
	return setIndex(txn, index, tableAllocs)
}

// stamped returns the time an entry carries, or keep when it carries none
// (an entry written by a tool or a test). The store never reads the clock:
// times are stamped by whoever builds the entry, so that every server applying
// it stores the same value (see the package doc).
func stamped(t, keep int64) int64 {
	if t != 0 {
		return t
	}
	return keep
}

// AllocByID returns an allocation, or nil.
func (s *StateStore) AllocByID(ws memdb.WatchSet, id string) (*structs.Allocation, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableAllocs, "id", id)
	if err != nil {
		return nil, nil
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.Allocation), nil
}

// AllocsByJob returns a job's allocations. Unless anyCreateIndex, allocations
// left from an earlier job with the same ID (purged and registered again) are
// skipped.
func (s *StateStore) AllocsByJob(ws memdb.WatchSet, namespace, jobID string, anyCreateIndex bool) ([]*structs.Allocation, error) {
	txn := s.db.Txn(false)
	allocs, err := collect[*structs.Allocation](ws)(txn.Get(tableAllocs, "job", namespace, jobID))
	if err != nil {
		return nil, fmt.Errorf("job allocs lookup: %w", err)
	}
	if anyCreateIndex {
		return allocs, nil
	}
	raw, _ := txn.First(tableJobs, "id", namespace, jobID)
	if raw == nil {
		return allocs, nil
	}
	createIndex := raw.(*structs.Job).CreateIndex
	out := allocs[:0:0]
	for _, a := range allocs {
		if a.Job == nil || a.Job.CreateIndex == createIndex {
			out = append(out, a)
		}
	}
	return out, nil
}

// AllocsByNode returns every allocation on a node.
func (s *StateStore) AllocsByNode(ws memdb.WatchSet, nodeID string) ([]*structs.Allocation, error) {
	return collect[*structs.Allocation](ws)(s.db.Txn(false).Get(tableAllocs, "node_prefix", nodeID))
}

// AllocsByNodeTerminal returns a node's allocations that are (or are not) terminal.
func (s *StateStore) AllocsByNodeTerminal(ws memdb.WatchSet, nodeID string, terminal bool) ([]*structs.Allocation, error) {
	return collect[*structs.Allocation](ws)(s.db.Txn(false).Get(tableAllocs, "node", nodeID, terminal))
}

// AllocsByEval returns the allocations an evaluation created.
func (s *StateStore) AllocsByEval(ws memdb.WatchSet, evalID string) ([]*structs.Allocation, error) {
	return collect[*structs.Allocation](ws)(s.db.Txn(false).Get(tableAllocs, "eval", evalID))
}

// Allocs returns allocations of a namespace ("*" or "" for all), optionally by ID prefix.
func (s *StateStore) Allocs(ws memdb.WatchSet, namespace, prefix string) ([]*structs.Allocation, error) {
	out, err := listByIDPrefix[*structs.Allocation](s.db.Txn(false), ws, tableAllocs, prefix)
	if err != nil {
		return nil, err
	}
	return filterNS(out, namespace, func(a *structs.Allocation) string { return a.Namespace }), nil
}

// AllocsIndex returns the allocs table index, watching it.
func (s *StateStore) AllocsIndex(ws memdb.WatchSet) uint64 {
	return s.indexIn(ws, s.db.Txn(false), tableAllocs)
}
