package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// JobSummaryByID returns a job's summary, or nil.
func (s *StateStore) JobSummaryByID(ws memdb.WatchSet, namespace, id string) (*structs.JobSummary, error) {
	txn := s.db.Txn(false)
	ch, raw, err := txn.FirstWatch(tableJobSummary, "id", namespace, id)
	if err != nil {
		return nil, fmt.Errorf("job summary lookup: %w", err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return nil, nil
	}
	if sum := raw.(*structs.JobSummary); sum.Children != nil {
		return withChildren(txn, ws, sum)
	}
	return raw.(*structs.JobSummary), nil
}

// upsertSummaryForJob makes sure the summary has exactly the job's groups.
func upsertSummaryForJob(txn *memdb.Txn, index uint64, job *structs.Job) error {
	raw, err := txn.First(tableJobSummary, "id", job.Namespace, job.ID)
	if err != nil {
		return fmt.Errorf("job summary lookup: %w", err)
	}
	sum := &structs.JobSummary{JobID: job.ID, Namespace: job.Namespace, Summary: map[string]structs.TaskGroupSummary{}, CreateIndex: index}
	if raw != nil {
		prev := raw.(*structs.JobSummary)
		sum.CreateIndex = prev.CreateIndex
		for _, tg := range job.TaskGroups {
			sum.Summary[tg.Name] = prev.Summary[tg.Name]
		}
	} else {
		for _, tg := range job.TaskGroups {
			sum.Summary[tg.Name] = structs.TaskGroupSummary{}
		}
	}
	if job.IsPeriodic() || job.IsParameterized() {
		sum.Children = &structs.JobChildrenSummary{}
	}
	sum.ModifyIndex = index
	if err := txn.Insert(tableJobSummary, sum); err != nil {
		return fmt.Errorf("insert job summary: %w", err)
	}
	return nil
}

// bucket returns the counter an allocation's client status belongs to.
func bucket(s *structs.TaskGroupSummary, status structs.AllocClientStatus) *int {
	switch status {
	case structs.AllocClientStatusPending:
		return &s.Starting
	case structs.AllocClientStatusRunning:
		return &s.Running
	case structs.AllocClientStatusComplete:
		return &s.Complete
	case structs.AllocClientStatusFailed:
		return &s.Failed
	case structs.AllocClientStatusLost:
		return &s.Lost
	case structs.AllocClientStatusUnknown:
		return &s.Unknown
	}
	return nil
}

// updateSummaryWithAllocs moves each allocation between counters as its client
// status changes; a newly placed allocation leaves the queue.
func updateSummaryWithAllocs(txn *memdb.Txn, index uint64, changes []allocChange) error {
	byJob := map[structs.NamespacedID]*structs.JobSummary{}
	for _, ch := range changes {
		a := ch.new
		key := structs.NamespacedID{ID: a.JobID, Namespace: a.Namespace}
		sum, ok := byJob[key]
		if !ok {
			raw, err := txn.First(tableJobSummary, "id", a.Namespace, a.JobID)
			if err != nil {
				return fmt.Errorf("job summary lookup: %w", err)
			}
			if raw == nil {
				continue
			}
			sum = copySummary(raw.(*structs.JobSummary))
			byJob[key] = sum
		}
		tg, ok := sum.Summary[a.TaskGroup]
		if !ok {
			continue
		}
		var oldStatus structs.AllocClientStatus
		if ch.old != nil {
			oldStatus = ch.old.ClientStatus
		} else if tg.Queued > 0 {
			tg.Queued--
		}
		if oldStatus != a.ClientStatus {
			if p := bucket(&tg, oldStatus); p != nil && *p > 0 {
				*p--
			}
			if p := bucket(&tg, a.ClientStatus); p != nil {
				*p++
			}
		}
		sum.Summary[a.TaskGroup] = tg
	}
	for _, sum := range byJob {
		sum.ModifyIndex = index
		if err := txn.Insert(tableJobSummary, sum); err != nil {
			return fmt.Errorf("insert job summary: %w", err)
		}
	}
	if len(byJob) > 0 {
		return setIndex(txn, index, tableJobSummary)
	}
	return nil
}

// setQueued records the allocations an evaluation could not place yet.
func setQueued(txn *memdb.Txn, index uint64, eval *structs.Evaluation) error {
	if len(eval.QueuedAllocations) == 0 || !eval.TerminalStatus() {
		return nil
	}
	raw, err := txn.First(tableJobSummary, "id", eval.Namespace, eval.JobID)
	if err != nil || raw == nil {
		return err
	}
	sum := copySummary(raw.(*structs.JobSummary))
	for group, n := range eval.QueuedAllocations {
		if tg, ok := sum.Summary[group]; ok {
			tg.Queued = n
			sum.Summary[group] = tg
		}
	}
	sum.ModifyIndex = index
	if err := txn.Insert(tableJobSummary, sum); err != nil {
		return fmt.Errorf("insert job summary: %w", err)
	}
	return setIndex(txn, index, tableJobSummary)
}

func copySummary(s *structs.JobSummary) *structs.JobSummary {
	c := *s
	c.Summary = make(map[string]structs.TaskGroupSummary, len(s.Summary))
	for k, v := range s.Summary {
		c.Summary[k] = v
	}
	if s.Children != nil {
		ch := *s.Children
		c.Children = &ch
	}
	return &c
}

// setJobStatus derives the job's status from its allocations and evaluations
// and stores it when it changed:
//
//	any allocation not terminal                 -> running
//	else any evaluation pending or blocked      -> pending
//	else anything ever ran or was evaluated     -> dead
//	else                                        -> pending (or dead if stopped)
//
// Periodic and parameterized jobs are templates: running until stopped.
func setJobStatus(txn *memdb.Txn, index uint64, job *structs.Job, evalDelete bool) error {
	status, err := deriveJobStatus(txn, job, evalDelete)
	if err != nil {
		return err
	}
	if status == job.Status {
		return nil
	}
	raw, err := txn.First(tableJobs, "id", job.Namespace, job.ID)
	if err != nil || raw == nil {
		return err
	}
	c := raw.(*structs.Job).Copy()
	c.Status, c.ModifyIndex = status, index
	if err := txn.Insert(tableJobs, c); err != nil {
		return fmt.Errorf("update job status: %w", err)
	}
	return setIndex(txn, index, tableJobs)
}

func deriveJobStatus(txn *memdb.Txn, job *structs.Job, evalDelete bool) (structs.JobStatus, error) {
	if job.Type == structs.JobTypeCore || job.IsPeriodic() || job.IsParameterized() {
		if job.Stop {
			return structs.JobStatusDead, nil
		}
		return structs.JobStatusRunning, nil
	}
	allocs, err := txn.Get(tableAllocs, "job", job.Namespace, job.ID)
	if err != nil {
		return "", fmt.Errorf("job allocs lookup: %w", err)
	}
	hasAlloc := false
	for raw := allocs.Next(); raw != nil; raw = allocs.Next() {
		hasAlloc = true
		if !raw.(*structs.Allocation).TerminalStatus() {
			return structs.JobStatusRunning, nil
		}
	}
	evals, err := txn.Get(tableEvals, "job", job.Namespace, job.ID)
	if err != nil {
		return "", fmt.Errorf("job evals lookup: %w", err)
	}
	hasEval := false
	for raw := evals.Next(); raw != nil; raw = evals.Next() {
		hasEval = true
		if !raw.(*structs.Evaluation).TerminalStatus() {
			return structs.JobStatusPending, nil
		}
	}
	if evalDelete || hasEval || hasAlloc || job.Stop {
		return structs.JobStatusDead, nil
	}
	return structs.JobStatusPending, nil
}

// setJobStatuses refreshes the status of every job touched by a write.
func setJobStatuses(txn *memdb.Txn, index uint64, jobs map[structs.NamespacedID]struct{}) error {
	for id := range jobs {
		raw, err := txn.First(tableJobs, "id", id.Namespace, id.ID)
		if err != nil {
			return fmt.Errorf("job lookup: %w", err)
		}
		if raw == nil {
			continue
		}
		if err := setJobStatus(txn, index, raw.(*structs.Job), false); err != nil {
			return err
		}
	}
	return nil
}
