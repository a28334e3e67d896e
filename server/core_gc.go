package server

import (
	"context"
	"fmt"
	"time"

	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// Garbage collection runs on the leader every GCInterval. Objects are
// collected once they have been finished for longer than their threshold:
//
//	evaluations  terminal, with every allocation terminal (EvalGCThreshold);
//	             a live batch job keeps its evaluations, they are its history
//	allocations  terminal, removed with their evaluation
//	jobs         stopped, or dead, with nothing live (JobGCThreshold); purged
//	             with their evaluations and allocations
//	nodes        down, with nothing live (NodeGCThreshold)
//	deployments  terminal (ModifyTime) with no live allocation of theirs
//	             (DeploymentGCThreshold); a purged job's go with it

// gcBatch bounds the objects one Raft entry deletes.
const gcBatch = 1000

func (s *Server) runGC(ctx context.Context) {
	tick := time.NewTicker(s.cfg.GCInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := s.collectGarbage(time.Now()); err != nil {
				s.logger.Error("garbage collection", "error", err)
			}
		}
	}
}

// gcWork is what one collection removes.
type gcWork struct {
	evals, allocs []string
	jobs          []structs.NamespacedID
	nodes         []string
	deployments   []string
}

// gcAges are how long each kind of object stays after it finished.
type gcAges struct {
	job, eval, node, deployment time.Duration
}

// collectGarbage removes what was finished before the thresholds, as seen
// from now.
func (s *Server) collectGarbage(now time.Time) error {
	return s.collectGarbageOlderThan(now, gcAges{
		job: s.cfg.JobGCThreshold, eval: s.cfg.EvalGCThreshold,
		node: s.cfg.NodeGCThreshold, deployment: s.cfg.DeploymentGCThreshold,
	})
}

// collectGarbageOlderThan removes what was finished longer than the given
// ages before now; System.GarbageCollect passes zero ages.
func (s *Server) collectGarbageOlderThan(now time.Time, ages gcAges) error {
	snap := s.state.Snapshot()
	var w gcWork
	if err := s.gcJobs(snap, now.Add(-ages.job), &w); err != nil {
		return err
	}
	if err := s.gcEvals(snap, now.Add(-ages.eval), &w); err != nil {
		return err
	}
	if err := s.gcNodes(snap, now.Add(-ages.node), &w); err != nil {
		return err
	}
	if err := s.gcDeployments(snap, now.Add(-ages.deployment), &w); err != nil {
		return err
	}
	return s.applyGC(&w)
}

// gcJobs collects finished jobs with their evaluations and allocations.
func (s *Server) gcJobs(snap *state.StateSnapshot, cutoff time.Time, w *gcWork) error {
	jobs, err := snap.Jobs(nil, "*", "")
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if !(j.Stop || j.Status == structs.JobStatusDead) || time.Unix(0, j.SubmitTime).After(cutoff) {
			continue
		}
		evals, err := snap.EvalsByJob(nil, j.Namespace, j.ID)
		if err != nil {
			return err
		}
		allocs, err := snap.AllocsByJob(nil, j.Namespace, j.ID, true)
		if err != nil {
			return err
		}
		if !allEvalsTerminalBefore(evals, cutoff) || !allAllocsTerminalBefore(allocs, cutoff) {
			continue
		}
		w.jobs = append(w.jobs, j.NamespacedID())
		for _, e := range evals {
			w.evals = append(w.evals, e.ID)
		}
		for _, a := range allocs {
			w.allocs = append(w.allocs, a.ID)
		}
	}
	return nil
}

// gcEvals collects old terminal evaluations whose allocations are terminal.
func (s *Server) gcEvals(snap *state.StateSnapshot, cutoff time.Time, w *gcWork) error {
	evals, err := snap.Evals(nil, "*", "")
	if err != nil {
		return err
	}
	purged := map[structs.NamespacedID]bool{}
	for _, id := range w.jobs {
		purged[id] = true
	}
	for _, e := range evals {
		if purged[e.NamespacedJobID()] || !e.TerminalStatus() || time.Unix(0, e.ModifyTime).After(cutoff) {
			continue
		}
		if e.Type == structs.JobTypeBatch {
			if j, _ := snap.JobByID(nil, e.Namespace, e.JobID); j != nil && !j.Stop && j.Status != structs.JobStatusDead {
				continue
			}
		}
		allocs, err := snap.AllocsByEval(nil, e.ID)
		if err != nil {
			return err
		}
		if !allAllocsTerminalBefore(allocs, cutoff) {
			continue
		}
		w.evals = append(w.evals, e.ID)
		for _, a := range allocs {
			w.allocs = append(w.allocs, a.ID)
		}
	}
	return nil
}

// gcNodes collects nodes down since before cutoff with nothing live.
func (s *Server) gcNodes(snap *state.StateSnapshot, cutoff time.Time, w *gcWork) error {
	nodes, err := snap.Nodes(nil, "")
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.Status != structs.NodeStatusDown || time.Unix(n.StatusUpdatedAt, 0).After(cutoff) {
			continue
		}
		live, err := snap.AllocsByNodeTerminal(nil, n.ID, false)
		if err != nil {
			return err
		}
		if len(live) == 0 {
			w.nodes = append(w.nodes, n.ID)
		}
	}
	return nil
}

// gcDeployments collects deployments that ended before cutoff and that no
// live allocation belongs to: a job's latest deployment stays while its
// allocations run (job status shows it), an older one goes once they are
// replaced. Deployments of jobs purged in this collection go with them.
func (s *Server) gcDeployments(snap *state.StateSnapshot, cutoff time.Time, w *gcWork) error {
	ds, err := snap.Deployments(nil, "*", "")
	if err != nil {
		return err
	}
	purged := map[structs.NamespacedID]bool{}
	for _, id := range w.jobs {
		purged[id] = true
	}
	live := map[structs.NamespacedID]map[string]bool{}
	for _, d := range ds {
		job := structs.NamespacedID{Namespace: d.Namespace, ID: d.JobID}
		if purged[job] || !d.Status.Terminal() || time.Unix(0, d.ModifyTime).After(cutoff) {
			continue
		}
		if live[job] == nil {
			if live[job], err = liveDeployments(snap, job); err != nil {
				return err
			}
		}
		if !live[job][d.ID] {
			w.deployments = append(w.deployments, d.ID)
		}
	}
	return nil
}

// liveDeployments returns the deployments the job's live allocations
// belong to.
func liveDeployments(snap *state.StateSnapshot, job structs.NamespacedID) (map[string]bool, error) {
	allocs, err := snap.AllocsByJob(nil, job.Namespace, job.ID, true)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, a := range allocs {
		if a.DeploymentID != "" && !a.TerminalStatus() {
			out[a.DeploymentID] = true
		}
	}
	return out, nil
}

func allEvalsTerminalBefore(evals []*structs.Evaluation, cutoff time.Time) bool {
	for _, e := range evals {
		if !e.TerminalStatus() || time.Unix(0, e.ModifyTime).After(cutoff) {
			return false
		}
	}
	return true
}

func allAllocsTerminalBefore(allocs []*structs.Allocation, cutoff time.Time) bool {
	for _, a := range allocs {
		if !a.TerminalStatus() || time.Unix(0, a.ModifyTime).After(cutoff) {
			return false
		}
	}
	return true
}

// applyGC commits the deletions in bounded batches.
func (s *Server) applyGC(w *gcWork) error {
	if len(w.jobs) > 0 {
		req := &structs.JobBatchDeregisterRequest{Jobs: w.jobs}
		if _, _, err := s.raftApply(structs.JobBatchDeregisterRequestType, req); err != nil {
			return fmt.Errorf("purge jobs: %w", err)
		}
	}
	for len(w.evals) > 0 || len(w.allocs) > 0 || len(w.deployments) > 0 {
		ne, na, nd := min(gcBatch, len(w.evals)), min(gcBatch, len(w.allocs)), min(gcBatch, len(w.deployments))
		req := &structs.EvalDeleteRequest{Evals: w.evals[:ne], Allocs: w.allocs[:na], Deployments: w.deployments[:nd]}
		if _, _, err := s.raftApply(structs.EvalDeleteRequestType, req); err != nil {
			return fmt.Errorf("delete evaluations: %w", err)
		}
		w.evals, w.allocs, w.deployments = w.evals[ne:], w.allocs[na:], w.deployments[nd:]
	}
	if len(w.nodes) > 0 {
		if _, _, err := s.raftApply(structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: w.nodes}); err != nil {
			return fmt.Errorf("delete nodes: %w", err)
		}
	}
	if n := len(w.jobs) + len(w.nodes) + len(w.deployments); n > 0 {
		s.logger.Debug("garbage collected", "jobs", len(w.jobs), "nodes", len(w.nodes), "deployments", len(w.deployments))
	}
	return nil
}
