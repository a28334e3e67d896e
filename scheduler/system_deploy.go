package scheduler

import (
	"cmp"
	"slices"

	"github.com/roam-sh/roam/structs"
)

// Deployments of system jobs. A system group whose update block has
// max_parallel > 0 rolls out through a deployment, as Nomad's system
// scheduler does since it gained deployments:
//
//   - a new job version (or a first registration) creates one; a group's
//     desired total is the number of nodes the group runs on;
//   - new nodes are placed on at once; old allocations are replaced (or
//     updated in place) max_parallel at a time: the deployment's
//     allocations that are not healthy yet hold slots, and the deployment
//     watcher's evaluations continue as they turn healthy;
//   - a paused or failed deployment replaces nothing more;
//   - a deployment of an older version (or of a stopped job) is cancelled.
//
// stagger is not acted on (Nomad's scheduler does not read it either):
// the next batch starts when the previous one is healthy. canary,
// auto_revert and auto_promote are warned about at submission.

// groupWork is what the system scheduler found one group needs on its
// nodes, gathered before anything is placed so that the deployment can
// pace the updates.
type groupWork struct {
	tg *structs.TaskGroup
	// current counts allocations of the job's version that stay.
	current int
	// places are placements on nodes without one (new) or moving off one.
	places []nodeWork
	// updates replace (destructive) or update in place old allocations.
	updates []nodeWork
}

// nodeWork is one change on one node.
type nodeWork struct {
	node    *structs.Node
	prev    *structs.Allocation
	kind    placeKind
	inplace bool
}

// setupSystemDeployment looks at the job's latest deployment: one of an
// older version or of a stopped job is cancelled; one of this version is
// the deployment this evaluation continues, whatever its status.
func (s *systemScheduler) setupSystemDeployment() error {
	s.deployment, s.creating = nil, false
	if s.sysbatch || s.job == nil {
		return nil
	}
	latest, err := s.state.LatestDeploymentByJobID(nil, s.eval.Namespace, s.eval.JobID)
	if err != nil || latest == nil {
		return err
	}
	cancel := func(desc string) {
		s.plan.DeploymentUpdates = append(s.plan.DeploymentUpdates, &structs.DeploymentStatusUpdate{
			DeploymentID: latest.ID, Status: structs.DeploymentStatusCancelled, StatusDescription: desc,
			UpdatedAt: s.ctx.now.UnixNano(),
		})
	}
	switch {
	case s.job.Stopped():
		if latest.Active() {
			cancel(structs.DeploymentDescStoppedJob)
		}
	case latest.JobCreateIndex != s.job.CreateIndex || latest.JobVersion != s.job.Version:
		if latest.Active() {
			cancel(structs.DeploymentDescNewerJob)
		}
	default:
		s.deployment = latest
		if latest.Active() {
			s.deploymentID = latest.ID
		}
	}
	return nil
}

// systemDeploys reports whether the group rolls out through a deployment.
func (s *systemScheduler) systemDeploys(tg *structs.TaskGroup) bool {
	return !s.sysbatch && s.job.Type == structs.JobTypeSystem && tg.Update != nil && !tg.Update.IsEmpty()
}

// groupDeployment returns the group's state in the deployment of the job's
// version, creating the deployment when the group has something to roll
// out; nil when no deployment paces the group.
func (s *systemScheduler) groupDeployment(w *groupWork) *structs.DeploymentState {
	if !s.systemDeploys(w.tg) {
		return nil
	}
	d := s.deployment
	if d != nil {
		if g := d.TaskGroups[w.tg.Name]; g != nil || !s.creating {
			return g
		}
	} else {
		if len(w.updates) == 0 && (len(w.places) == 0 || s.ranVersion(w.tg.Name)) {
			// Nothing changes, or only new nodes of a version already
			// rolled out: placed without a deployment, as Nomad does.
			return nil
		}
		d = structs.NewDeployment(s.job, s.ctx.now)
		s.deployment, s.creating, s.deploymentID = d, true, d.ID
		s.plan.Deployment = d
	}
	u := w.tg.Update
	g := &structs.DeploymentState{ProgressDeadline: u.ProgressDeadline}
	if u.ProgressDeadline > 0 {
		g.RequireProgressBy = s.ctx.now.Add(u.ProgressDeadline)
	}
	d.TaskGroups[w.tg.Name] = g
	return g
}

// ranVersion reports whether the group ever had an allocation of the job's
// version (and so was rolled out already).
func (s *systemScheduler) ranVersion(group string) bool {
	for _, a := range s.ctx.jobAllocs {
		if a.TaskGroup == group && a.Job != nil && a.Job.Version == s.job.Version && a.Job.CreateIndex == s.job.CreateIndex {
			return true
		}
	}
	return false
}

// deploymentFor returns the ID the group's placements carry: the
// deployment's, while it rolls out and tracks the group.
func (s *systemScheduler) deploymentFor(group string) string {
	d := s.deployment
	if d == nil || !d.Active() || d.TaskGroups[group] == nil {
		return ""
	}
	return d.ID
}

// updateLimit is how many old allocations of the group may be replaced
// now: all without a deployment; none while it is paused or over; else
// max_parallel less the deployment's allocations that are not healthy yet.
func (s *systemScheduler) updateLimit(w *groupWork, g *structs.DeploymentState) int {
	if g == nil {
		return len(w.updates)
	}
	d := s.deployment
	if d.Status != structs.DeploymentStatusRunning {
		return 0
	}
	limit := w.tg.Update.MaxParallel
	for _, byGroup := range s.live {
		for _, a := range byGroup[w.tg.Name] {
			if a.DeploymentID == d.ID && !isHealthy(a) {
				limit--
			}
		}
	}
	return max(limit, 0)
}

// runGroup makes the group's changes: placements on new nodes first, then
// updates up to the deployment's limit (in node order, so successive
// evaluations go through the nodes in a stable order). The deployment's
// desired total is every node the group runs on once the roll-out is done.
func (s *systemScheduler) runGroup(w *groupWork) error {
	g := s.groupDeployment(w)
	placed := 0
	for _, p := range w.places {
		ok, err := s.place(p.node, w.tg, p.prev, p.kind)
		if err != nil {
			return err
		}
		if ok {
			placed++
		}
	}
	slices.SortFunc(w.updates, func(x, y nodeWork) int { return cmp.Compare(x.node.ID, y.node.ID) })
	limit := s.updateLimit(w, g)
	du := s.du(w.tg.Name)
	for i, u := range w.updates {
		switch {
		case i >= limit:
			du.Ignore++
		case u.inplace:
			du.InPlaceUpdate++
			s.inplace(w.tg, u.prev)
		default:
			du.DestructiveUpdate++
			if _, err := s.place(u.node, w.tg, u.prev, placeDestructive); err != nil {
				return err
			}
		}
	}
	if g != nil {
		s.setDesiredTotal(w.tg.Name, g, w.current+len(w.updates)+placed)
	}
	return nil
}

// setDesiredTotal records how many allocations the group's deployment
// waits for. A running deployment whose nodes changed since it was
// created is written again with the new total (the state store keeps its
// counters).
func (s *systemScheduler) setDesiredTotal(group string, g *structs.DeploymentState, total int) {
	if g.DesiredTotal == total {
		return
	}
	if s.creating {
		g.DesiredTotal = total
		return
	}
	if s.deployment.Status != structs.DeploymentStatusRunning {
		return
	}
	if s.plan.Deployment == nil {
		s.plan.Deployment = s.deployment.Copy()
		s.deployment = s.plan.Deployment
	}
	s.plan.Deployment.TaskGroups[group].DesiredTotal = total
}

// inplace updates a to the job's version on its node; it joins the
// deployment, whose client judges its health again.
func (s *systemScheduler) inplace(tg *structs.TaskGroup, a *structs.Allocation) {
	updated := *a
	updated.Job, updated.JobVersion, updated.EvalID = s.job, s.job.Version, s.eval.ID
	if id := s.deploymentFor(tg.Name); id != "" && id != a.DeploymentID {
		updated.DeploymentID, updated.DeploymentStatus = id, nil
	}
	updated.ModifyTime = s.ctx.now.UnixNano()
	s.ctx.place(&updated, a)
}

// isHealthy reports whether a's client reported it healthy.
func isHealthy(a *structs.Allocation) bool {
	return a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil && *a.DeploymentStatus.Healthy
}
