package scheduler

import (
	"cmp"
	"slices"

	"github.com/roam-sh/roam/structs"
)

// Deployments in the reconciler. A service group whose update block has
// max_parallel > 0 rolls out through a deployment:
//
//   - a new job version (or a first registration) creates one, with a
//     group state per group: desired total, desired canaries, deadlines;
//   - with canary = n, n canaries are placed beside the old allocations
//     (taking their names) and nothing else is replaced until the group
//     is promoted; once promoted, the old allocation a canary took the
//     name of is stopped;
//   - otherwise old allocations are replaced max_parallel at a time: the
//     allocations of the deployment that are not healthy yet hold slots,
//     and the deployment watcher's evaluations continue as they turn
//     healthy;
//   - a paused or failed deployment replaces nothing more;
//   - a deployment of an older version (or of a stopped job) is cancelled.
//
// Every allocation placed (or updated in place) for the group carries the
// deployment's ID; in-place updates start over without health, which the
// client reports again for the new deployment.

const descCanaryNotNeeded = "alloc not needed as its deployment ended without promoting it"

// setupDeployment looks at the job's latest deployment: one of an older
// version or of a stopped job is cancelled; one of this version is the
// deployment this evaluation continues, whatever its status.
func (r *reconciler) setupDeployment(latest *structs.Deployment) {
	if latest == nil {
		return
	}
	if r.job == nil || r.job.Stopped() {
		if latest.Active() {
			r.cancelDeployment(latest, structs.DeploymentDescStoppedJob)
		}
		return
	}
	if latest.JobCreateIndex != r.job.CreateIndex || latest.JobVersion != r.job.Version {
		if latest.Active() {
			r.cancelDeployment(latest, structs.DeploymentDescNewerJob)
		}
		return
	}
	r.deployment, r.out.rollout = latest, latest
}

func (r *reconciler) cancelDeployment(d *structs.Deployment, desc string) {
	r.out.deploymentUpdates = append(r.out.deploymentUpdates, &structs.DeploymentStatusUpdate{
		DeploymentID: d.ID, Status: structs.DeploymentStatusCancelled, StatusDescription: desc, UpdatedAt: r.now.UnixNano(),
	})
}

// deploys reports whether the group rolls out through a deployment.
func (r *reconciler) deploys(tg *structs.TaskGroup) bool {
	return !r.batch && r.job.Type == structs.JobTypeService && tg.Update != nil && !tg.Update.IsEmpty()
}

// groupDeployment returns the group's state in the deployment this
// evaluation places into, creating the deployment when the group needs
// one; nil when the group has no deployment.
func (r *reconciler) groupDeployment(tg *structs.TaskGroup, needed bool) *structs.DeploymentState {
	d := r.deployment
	if d != nil {
		if g := d.TaskGroups[tg.Name]; g != nil || !r.creating {
			return g
		}
	} else {
		if !needed || tg.Count == 0 {
			return nil
		}
		d = structs.NewDeployment(r.job, r.now)
		r.deployment, r.creating = d, true
		r.out.deployment, r.out.rollout = d, d
	}
	u := tg.Update
	g := &structs.DeploymentState{
		AutoRevert: u.AutoRevert, AutoPromote: u.AutoPromote, ProgressDeadline: u.ProgressDeadline,
		DesiredTotal: tg.Count,
	}
	if u.ProgressDeadline > 0 {
		g.RequireProgressBy = r.now.Add(u.ProgressDeadline)
	}
	d.TaskGroups[tg.Name] = g
	return g
}

// deploymentFor returns the ID placements of the group carry: the
// deployment's, while it rolls out and tracks the group.
func (r *reconcileResult) deploymentFor(group string) string {
	d := r.rollout
	if d == nil || !d.Active() || d.TaskGroups[group] == nil {
		return ""
	}
	return d.ID
}

// isCanary reports whether a is a canary not yet promoted.
func isCanary(a *structs.Allocation) bool {
	return a.DeploymentStatus != nil && a.DeploymentStatus.Canary
}

// splitCanaries takes the canaries out of the group's classes: while
// unpromoted they run beside the allocations they will replace and take
// no slot of the count. The deployment's list of placed canaries says
// which they are (a client's report may not carry the flag). Canaries of a
// deployment that is over (failed, cancelled, superseded) are stopped.
func (r *reconciler) splitCanaries(tg *structs.TaskGroup, by *[numClasses][]*structs.Allocation) []*structs.Allocation {
	current := map[string]bool{}
	if d := r.deployment; d != nil && d.Active() {
		if g := d.TaskGroups[tg.Name]; g != nil && !g.Promoted {
			for _, id := range g.PlacedCanaries {
				current[id] = true
			}
		}
	}
	var canaries []*structs.Allocation
	du := r.desired(tg.Name)
	for c := classUntainted; c < numClasses; c++ {
		kept := by[c][:0:0]
		for _, a := range by[c] {
			switch {
			case current[a.ID]:
				canaries = append(canaries, a)
			case !isCanary(a) || (r.deployment != nil && r.deployment.Active() && a.DeploymentID == r.deployment.ID):
				kept = append(kept, a)
			case c == classUntainted:
				r.out.stops = append(r.out.stops, allocStop{alloc: a, desc: descCanaryNotNeeded})
				du.Stop++
			}
		}
		by[c] = kept
	}
	return canaries
}

// stopReplaced stops old-version allocations whose name a live allocation
// of the job's version already holds: those a promoted canary replaces.
func (r *reconciler) stopReplaced(tg *structs.TaskGroup, by *[numClasses][]*structs.Allocation) {
	held := map[string]bool{}
	for _, a := range by[classUntainted] {
		if sameJobVersion(a.Job, r.job) {
			held[a.Name] = true
		}
	}
	du := r.desired(tg.Name)
	kept := by[classUntainted][:0:0]
	for _, a := range by[classUntainted] {
		if !sameJobVersion(a.Job, r.job) && held[a.Name] {
			r.out.stops = append(r.out.stops, allocStop{alloc: a, desc: descNotNeeded})
			du.Stop++
			continue
		}
		kept = append(kept, a)
	}
	by[classUntainted] = kept
}

// deployUpdates is updates for a group that rolls out through a
// deployment: in-place updates all at once, canaries first when the
// group wants them, then destructive updates max_parallel at a time.
func (r *reconciler) deployUpdates(tg *structs.TaskGroup, untainted, canaries []*structs.Allocation, hadCurrent bool) {
	du := r.desired(tg.Name)
	var current, inplace, destructive []*structs.Allocation
	for _, a := range untainted {
		switch {
		case sameJobVersion(a.Job, r.job):
			current = append(current, a)
		case a.Job == nil || destructiveChange(a.Job, r.job, tg.Name):
			destructive = append(destructive, a)
		default:
			inplace = append(inplace, a)
		}
	}
	du.Ignore += uint64(len(current))
	g := r.groupDeployment(tg, len(inplace)+len(destructive) > 0 || !hadCurrent)
	if g == nil {
		// No deployment tracks the group (a count of zero): nothing to pace.
		r.plainUpdates(tg, inplace, destructive)
		return
	}
	if r.creating && tg.Update.Canary > 0 && len(destructive) > 0 {
		g.DesiredCanaries = tg.Update.Canary
		if r.deployment.StatusDescription == structs.DeploymentDescRunning {
			r.deployment.StatusDescription = structs.DeploymentDescRunningNeedPromote
			if r.deployment.HasAutoPromote() {
				r.deployment.StatusDescription = structs.DeploymentDescRunningAutoPromote
			}
		}
	}
	r.out.inplace = append(r.out.inplace, inplace...)
	du.InPlaceUpdate += uint64(len(inplace))
	slices.SortFunc(destructive, func(x, y *structs.Allocation) int { return cmp.Compare(x.Index(), y.Index()) })
	if g.DesiredCanaries > 0 && !g.Promoted {
		r.placeCanaries(tg, g, canaries, destructive)
		du.Ignore += uint64(len(destructive))
		return
	}
	n := min(r.rolloutLimit(tg, g, untainted), len(destructive))
	for _, a := range destructive[:n] {
		r.out.places = append(r.out.places, allocPlace{tg: tg, name: a.Name, kind: placeDestructive, previous: a})
	}
	du.DestructiveUpdate += uint64(n)
	du.Ignore += uint64(len(destructive) - n)
}

// plainUpdates plans every update at once (no deployment paces them).
func (r *reconciler) plainUpdates(tg *structs.TaskGroup, inplace, destructive []*structs.Allocation) {
	du := r.desired(tg.Name)
	for _, a := range destructive {
		r.out.places = append(r.out.places, allocPlace{tg: tg, name: a.Name, kind: placeDestructive, previous: a})
	}
	r.out.inplace = append(r.out.inplace, inplace...)
	du.DestructiveUpdate += uint64(len(destructive))
	du.InPlaceUpdate += uint64(len(inplace))
}

// placeCanaries places the canaries still missing, under the names of the
// allocations they will replace, while the deployment runs.
func (r *reconciler) placeCanaries(tg *structs.TaskGroup, g *structs.DeploymentState, canaries, destructive []*structs.Allocation) {
	if r.deployment.Status != structs.DeploymentStatusRunning {
		return
	}
	taken := map[string]bool{}
	for _, a := range canaries {
		taken[a.Name] = true
	}
	missing := g.DesiredCanaries - len(canaries)
	du := r.desired(tg.Name)
	for _, a := range destructive {
		if missing <= 0 {
			return
		}
		if taken[a.Name] {
			continue
		}
		r.out.places = append(r.out.places, allocPlace{tg: tg, name: a.Name, kind: placeCanary})
		du.Canary++
		missing--
	}
}

// rolloutLimit is how many old allocations may be replaced now: none while
// the deployment is paused or over, else max_parallel less the
// deployment's allocations that are not healthy yet.
func (r *reconciler) rolloutLimit(tg *structs.TaskGroup, g *structs.DeploymentState, untainted []*structs.Allocation) int {
	d := r.deployment
	if d.Status != structs.DeploymentStatusRunning {
		return 0
	}
	limit := tg.Update.MaxParallel
	for _, a := range untainted {
		if a.DeploymentID != d.ID {
			continue
		}
		if a.DeploymentStatus == nil || a.DeploymentStatus.Healthy == nil || !*a.DeploymentStatus.Healthy {
			limit--
		}
	}
	return max(limit, 0)
}

// hadCurrent reports whether the group ever had an allocation of the job's
// version: if not, the version was never rolled out and needs a deployment
// even without anything to replace (a first registration).
func (r *reconciler) hadCurrent(allocs []*structs.Allocation) bool {
	for _, a := range allocs {
		if a.Job != nil && a.Job.Version == r.job.Version && a.Job.CreateIndex == r.job.CreateIndex {
			return true
		}
	}
	return false
}
