package server

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// The deployment watcher is a leader duty: it follows every running
// deployment and moves it on as its allocations' health changes.
//
//   - a deployment allocation reported unhealthy fails the deployment;
//   - a group that misses its progress deadline (no allocation turned
//     healthy within progress_deadline) fails it;
//   - a failed deployment with auto_revert registers the job's latest
//     stable version again (a new version, rolled out by its own
//     deployment);
//   - healthy canaries of groups that all auto_promote are promoted;
//   - more healthy allocations mean room for the next max_parallel: an
//     evaluation continues the roll-out;
//   - every group placed, healthy and promoted: the deployment succeeded,
//     and its job version becomes stable.
//
// It wakes on any change of deployments or allocations, and at the next
// progress deadline. What it decides it commits through Raft; a new leader
// starts over from the store.

// deploymentWatchMaxWait bounds a wait with no change and no deadline due,
// so that a watcher never sleeps through a deadline it did not see.
const deploymentWatchMaxWait = time.Minute

// deploymentWatcher holds what one leadership term learned: the healthy
// count each deployment had when it was last evaluated.
type deploymentWatcher struct {
	srv *Server
	// healthySeen is each deployment's healthy allocation count at the
	// last evaluation the watcher created for it.
	healthySeen map[string]int
	now         func() time.Time
}

// runDeploymentWatcher watches deployments until ctx ends (leadership lost).
func (s *Server) runDeploymentWatcher(ctx context.Context) {
	w := &deploymentWatcher{srv: s, healthySeen: map[string]int{}, now: time.Now}
	for ctx.Err() == nil {
		ws := memdb.NewWatchSet()
		next := w.round(ws)
		wait := deploymentWatchMaxWait
		if !next.IsZero() {
			wait = min(wait, max(time.Until(next), 10*time.Millisecond))
		}
		wctx, cancel := context.WithTimeout(ctx, wait)
		// A restored store abandons the old one: wake up and read the new.
		ws.Add(s.state.AbandonCh())
		_ = ws.WatchCtx(wctx)
		cancel()
	}
}

// round checks every running deployment once and returns the earliest
// progress deadline still ahead (zero if none).
func (w *deploymentWatcher) round(ws memdb.WatchSet) time.Time {
	st := w.srv.state
	st.AllocsIndex(ws)
	ds, err := st.Deployments(ws, "*", "")
	if err != nil {
		w.srv.logger.Error("deployment watcher: list deployments", "error", err)
		return w.now().Add(time.Second)
	}
	var next time.Time
	live := map[string]bool{}
	for _, d := range ds {
		if d.Status != structs.DeploymentStatusRunning {
			continue
		}
		live[d.ID] = true
		deadline, err := w.check(d)
		if err != nil {
			w.srv.logger.Error("deployment watcher", "deployment_id", d.ID, "job_id", d.JobID, "error", err)
			continue
		}
		if !deadline.IsZero() && (next.IsZero() || deadline.Before(next)) {
			next = deadline
		}
	}
	for id := range w.healthySeen {
		if !live[id] {
			delete(w.healthySeen, id)
		}
	}
	return next
}

// verdict is what the watcher decides about one running deployment.
type verdict int

const (
	verdictWait      verdict = iota // nothing to do until something changes
	verdictProgress                 // more healthy allocations: evaluate the job
	verdictPromote                  // promote its canaries (auto_promote)
	verdictSucceeded                // every group done
	verdictFailed                   // unhealthy allocation or missed deadline
)

// judge looks at a running deployment's groups at now and returns what to
// do, why it failed (if it did) and the next deadline to wake for.
func judge(d *structs.Deployment, now time.Time, healthySeen int) (verdict, string, time.Time) {
	var next time.Time
	done, healthy, awaitingPromotion := true, 0, false
	for _, name := range sortedKeys(d.TaskGroups) {
		g := d.TaskGroups[name]
		healthy += g.HealthyAllocs
		if g.UnhealthyAllocs > 0 {
			return verdictFailed, structs.DeploymentDescFailedAllocations, time.Time{}
		}
		unpromoted := g.DesiredCanaries > 0 && !g.Promoted
		if unpromoted && g.HealthyAllocs >= g.DesiredCanaries {
			// Its canaries are healthy: it waits for a promotion, by an
			// operator or auto_promote, and no deadline runs.
			awaitingPromotion = true
			done = false
			continue
		}
		if !unpromoted && g.HealthyAllocs >= g.DesiredTotal {
			continue
		}
		done = false
		if g.ProgressDeadline > 0 && !g.RequireProgressBy.IsZero() {
			if !now.Before(g.RequireProgressBy) {
				return verdictFailed, structs.DeploymentDescProgressDeadline, time.Time{}
			}
			if next.IsZero() || g.RequireProgressBy.Before(next) {
				next = g.RequireProgressBy
			}
		}
	}
	switch {
	case done:
		return verdictSucceeded, "", time.Time{}
	case awaitingPromotion && d.HasAutoPromote() && canariesHealthy(d):
		return verdictPromote, "", next
	case healthy > healthySeen:
		return verdictProgress, "", next
	}
	return verdictWait, "", next
}

// canariesHealthy reports whether every group with canaries has them all healthy.
func canariesHealthy(d *structs.Deployment) bool {
	for _, g := range d.TaskGroups {
		if g.DesiredCanaries > 0 && !g.Promoted && g.HealthyAllocs < g.DesiredCanaries {
			return false
		}
	}
	return true
}

// check acts on one running deployment and returns its next deadline.
func (w *deploymentWatcher) check(d *structs.Deployment) (time.Time, error) {
	job, err := w.srv.state.JobByID(nil, d.Namespace, d.JobID)
	if err != nil {
		return time.Time{}, err
	}
	if job == nil || job.CreateIndex != d.JobCreateIndex {
		// Purged: no evaluation of the job will cancel it.
		return time.Time{}, w.srv.setDeploymentStatus(d, structs.DeploymentStatusCancelled, structs.DeploymentDescStoppedJob, nil)
	}
	if job.Version != d.JobVersion {
		// A newer version's evaluation cancels it.
		return time.Time{}, nil
	}
	v, why, next := judge(d, w.now(), w.healthySeen[d.ID])
	switch v {
	case verdictFailed:
		return time.Time{}, w.srv.failDeployment(d, why)
	case verdictSucceeded:
		return time.Time{}, w.srv.setDeploymentStatus(d, structs.DeploymentStatusSuccessful, structs.DeploymentDescSuccessful, nil)
	case verdictPromote:
		_, err := w.srv.promoteDeployment(d, true, nil)
		return next, err
	case verdictProgress:
		req := &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{deploymentEval(d, job)}}
		if _, _, err := w.srv.raftApply(structs.EvalUpdateRequestType, req); err != nil {
			return next, fmt.Errorf("evaluate job of deployment %s: %w", d.ID, err)
		}
		w.healthySeen[d.ID] = healthyCount(d)
	}
	return next, nil
}

func healthyCount(d *structs.Deployment) int {
	n := 0
	for _, g := range d.TaskGroups {
		n += g.HealthyAllocs
	}
	return n
}

// deploymentEval is the evaluation that lets the scheduler act on a
// deployment's change.
func deploymentEval(d *structs.Deployment, job *structs.Job) *structs.Evaluation {
	return newEval(d.Namespace, d.JobID, job.Type, job.Priority, structs.EvalTriggerDeploymentWatcher, func(e *structs.Evaluation) {
		e.DeploymentID, e.JobModifyIndex = d.ID, job.JobModifyIndex
	})
}

// setDeploymentStatus commits a status change, with an evaluation when given.
func (s *Server) setDeploymentStatus(d *structs.Deployment, status structs.DeploymentStatus, desc string, eval *structs.Evaluation) error {
	req := &structs.DeploymentStatusUpdateRequest{
		DeploymentUpdate: &structs.DeploymentStatusUpdate{DeploymentID: d.ID, Status: status, StatusDescription: desc,
			UpdatedAt: time.Now().UnixNano()},
		Eval: eval,
	}
	if _, _, err := s.raftApply(structs.DeploymentStatusUpdateRequestType, req); err != nil {
		return fmt.Errorf("deployment %s %s: %w", d.ID, status, err)
	}
	return nil
}

// failDeployment fails a deployment. When a group asked for auto_revert
// and the job has an earlier stable version, that version is registered
// again in the same entry; the evaluation rolls it out (or, without a
// revert, stops the failed deployment's canaries).
func (s *Server) failDeployment(d *structs.Deployment, why string) error {
	_, _, err := s.failDeploymentReq(d, why)
	return err
}

// failDeploymentReq fails a deployment and returns the committed entry and
// the stable version it reverted to, if it did.
func (s *Server) failDeploymentReq(d *structs.Deployment, why string) (*structs.DeploymentStatusUpdateRequest, *uint64, error) {
	job, err := s.state.JobByID(nil, d.Namespace, d.JobID)
	if err != nil {
		return nil, nil, err
	}
	var reverted *uint64
	req := &structs.DeploymentStatusUpdateRequest{
		DeploymentUpdate: &structs.DeploymentStatusUpdate{DeploymentID: d.ID, Status: structs.DeploymentStatusFailed, StatusDescription: why,
			UpdatedAt: time.Now().UnixNano()},
	}
	if job != nil {
		req.Eval = deploymentEval(d, job)
		if reverted, err = s.addRevert(req, d, job); err != nil {
			return nil, nil, err
		}
	}
	if _, _, err := s.raftApply(structs.DeploymentStatusUpdateRequestType, req); err != nil {
		return nil, nil, fmt.Errorf("fail deployment %s: %w", d.ID, err)
	}
	return req, reverted, nil
}

// addRevert adds the revert to the latest stable version to a failed
// deployment's entry, if a group of it asked for auto_revert.
func (s *Server) addRevert(req *structs.DeploymentStatusUpdateRequest, d *structs.Deployment, job *structs.Job) (*uint64, error) {
	revert := false
	for _, g := range d.TaskGroups {
		revert = revert || g.AutoRevert
	}
	if !revert || job.Version != d.JobVersion {
		return nil, nil
	}
	stable, err := s.latestStableVersion(job)
	if err != nil || stable == nil {
		return nil, err
	}
	u := req.DeploymentUpdate
	if jobSpecEqual(stable, job) {
		u.StatusDescription = structs.DeploymentDescNoRollback(u.StatusDescription, stable.Version)
		return nil, nil
	}
	reverted, _, err := s.admitJob(stable, job.Namespace)
	if err != nil {
		return nil, fmt.Errorf("revert to version %d: %w", stable.Version, err)
	}
	reverted.Stop = false
	req.Job = reverted
	u.StatusDescription = structs.DeploymentDescRollback(u.StatusDescription, stable.Version)
	v := stable.Version
	return &v, nil
}

// latestStableVersion is the newest version before the current one that
// is stable, nil if none is.
func (s *Server) latestStableVersion(job *structs.Job) (*structs.Job, error) {
	versions, err := s.state.JobVersionsByID(nil, job.Namespace, job.ID)
	if err != nil {
		return nil, err
	}
	for _, v := range versions {
		if v.Version < job.Version && v.Stable {
			return v, nil
		}
	}
	return nil, nil
}

// promoteDeployment promotes canaries (all groups, or those named) and
// evaluates the job so the roll-out goes on.
func (s *Server) promoteDeployment(d *structs.Deployment, all bool, groups []string) (*structs.DeploymentPromoteRequest, error) {
	job, err := s.state.JobByID(nil, d.Namespace, d.JobID)
	if err != nil {
		return nil, err
	}
	if job == nil {
		return nil, notFound("job", d.JobID)
	}
	req := &structs.DeploymentPromoteRequest{DeploymentID: d.ID, All: all, Groups: groups, Eval: deploymentEval(d, job)}
	if _, _, err := s.raftApply(structs.DeploymentPromoteRequestType, req); err != nil {
		return nil, fmt.Errorf("promote deployment %s: %w", d.ID, err)
	}
	return req, nil
}
