package scheduler

import (
	"cmp"
	"slices"
	"time"

	"github.com/roam-sh/roam/structs"
)

// What the servers tell users about stopped allocations (alloc status shows
// these as the desired description).
const (
	descNotNeeded      = "alloc not needed due to job update"
	descJobStopped     = "alloc not needed as job is stopped"
	descMigrating      = "alloc is being migrated"
	descUpdating       = "alloc is being updated due to job update"
	descLost           = "alloc is lost since its node is down"
	descRescheduled    = "alloc was rescheduled because it failed"
	descNodeTainted    = "alloc not needed as node is tainted"
	descNodeIneligible = "alloc not needed as node is not eligible for scheduling"
	descNodeInfeasible = "alloc not needed as node no longer satisfies the job's constraints"
	descNodeOutOfScope = "alloc not needed as node is no longer in the job's datacenters or node pool"
)

// placeKind says why an allocation is placed, which decides what happens to
// the allocation it replaces.
type placeKind int

const (
	placeNew         placeKind = iota // missing from the group's count
	placeLost                         // replaces an allocation on a down node (stopped first)
	placeMigrate                      // replaces a draining or user-stopped allocation (stopped first)
	placeReschedule                   // replaces a failed allocation (stopped once placed)
	placeDestructive                  // replaces an outdated allocation (stopped first, restored on failure)
	placeCanary                       // runs beside the allocation it will replace once promoted (deploy.go)
)

// allocPlace is one allocation to place.
type allocPlace struct {
	tg       *structs.TaskGroup
	name     string
	kind     placeKind
	previous *structs.Allocation
	// stopped is the plan's stop of previous, once planned; the replacement's
	// ID is written into it.
	stopped *structs.Allocation
}

// allocStop is one allocation to stop with its reason.
type allocStop struct {
	alloc        *structs.Allocation
	desc         string
	clientStatus structs.AllocClientStatus
}

// reconcileResult is what the reconciler decided for one job.
type reconcileResult struct {
	stops   []allocStop
	places  []allocPlace
	inplace []*structs.Allocation
	// followups are delayed evaluations for failed allocations to reschedule
	// later, followupOf maps each such allocation to its evaluation, and
	// followupAllocs are copies of those on ready nodes carrying the marker
	// (the plan applier only updates allocations on ready nodes).
	followups      []*structs.Evaluation
	followupOf     map[string]string
	followupAllocs []*structs.Allocation
	desired        map[string]*structs.DesiredUpdates
	// more says new placements were left out to stay within the
	// evaluation's budget: a follow-up evaluation must place them.
	more bool
	// deployment is created (or continued) by this plan; deploymentUpdates
	// cancel older ones (deploy.go).
	deployment        *structs.Deployment
	deploymentUpdates []*structs.DeploymentStatusUpdate
	// rollout is the deployment placements of the job's version join.
	rollout *structs.Deployment
}

// reconciler compares a service or batch job with its allocations. It is pure:
// everything it looks at is in its fields.
type reconciler struct {
	job   *structs.Job // nil once purged
	batch bool
	eval  *structs.Evaluation
	now   time.Time
	// newBudget is how many new placements this evaluation may still
	// make; 0 means no bound.
	newBudget int
	newPlaced int
	// nodes holds the node of every live or failed allocation's NodeID; a
	// missing or nil entry means the node is gone.
	nodes map[string]*structs.Node
	out   *reconcileResult
	// deployment is the deployment of the job's version (any status), nil
	// if it has none; creating says this evaluation creates it.
	deployment *structs.Deployment
	creating   bool
}

// allocClass sorts a group's allocations by what must happen to them.
type allocClass int

const (
	classIgnore          allocClass = iota // terminal: plays no part
	classUntainted                         // running on a healthy node
	classHeld                              // keeps its slot for good: a finished batch allocation, or one on a lost node that must not be replaced
	classFailed                            // failed with no reschedule left: keeps its slot
	classLost                              // on a down or vanished node
	classMigrate                           // asked to move (drain, alloc stop)
	classRescheduleNow                     // failed, replace now
	classRescheduleLater                   // failed, replace after a delay
	numClasses
)

func newReconciler(job *structs.Job, batch bool, eval *structs.Evaluation, now time.Time, nodes map[string]*structs.Node) *reconciler {
	return &reconciler{
		job: job, batch: batch, eval: eval, now: now, nodes: nodes,
		out: &reconcileResult{desired: map[string]*structs.DesiredUpdates{}},
	}
}

// withBudget bounds the new placements of one evaluation; the rest wait for
// a follow-up evaluation (see reconcileResult.more).
func (r *reconciler) withBudget(maxNew int) *reconciler {
	r.newBudget = maxNew
	return r
}

// withDeployment hands the reconciler the job's latest deployment.
func (r *reconciler) withDeployment(latest *structs.Deployment) *reconciler {
	r.setupDeployment(latest)
	return r
}

// reconcile decides the stops, placements and updates for the allocations.
func (r *reconciler) reconcile(allocs []*structs.Allocation) *reconcileResult {
	byGroup := map[string][]*structs.Allocation{}
	for _, a := range allocs {
		byGroup[a.TaskGroup] = append(byGroup[a.TaskGroup], a)
	}
	if r.job.Stopped() {
		for name, as := range byGroup {
			r.stopLive(name, as, descJobStopped)
		}
		return r.out
	}
	for _, tg := range r.job.TaskGroups {
		r.reconcileGroup(tg, byGroup[tg.Name])
		delete(byGroup, tg.Name)
	}
	for name, as := range byGroup {
		// The group was removed from the job.
		r.stopLive(name, as, descNotNeeded)
	}
	return r.out
}

func (r *reconciler) desired(group string) *structs.DesiredUpdates {
	du := r.out.desired[group]
	if du == nil {
		du = &structs.DesiredUpdates{}
		r.out.desired[group] = du
	}
	return du
}

func (r *reconciler) stopLive(group string, allocs []*structs.Allocation, desc string) {
	du := r.desired(group)
	for _, a := range allocs {
		if a.TerminalStatus() {
			continue
		}
		r.out.stops = append(r.out.stops, allocStop{alloc: a, desc: desc})
		du.Stop++
	}
}

func (r *reconciler) reconcileGroup(tg *structs.TaskGroup, allocs []*structs.Allocation) {
	allocs = r.dropEarlierJob(tg.Name, allocs)
	var by [numClasses][]*structs.Allocation
	laterAt := map[string]time.Time{}
	for _, a := range allocs {
		c, at := r.classify(tg, a)
		by[c] = append(by[c], a)
		if c == classRescheduleLater {
			laterAt[a.ID] = at
		}
	}
	deploys := r.deploys(tg)
	var canaries []*structs.Allocation
	if deploys {
		canaries = r.splitCanaries(tg, &by)
		r.stopReplaced(tg, &by)
	}
	r.trimExcess(tg, &by)
	r.replace(tg, &by)
	r.followups(tg, by[classRescheduleLater], laterAt)
	if deploys {
		r.deployUpdates(tg, by[classUntainted], canaries, r.hadCurrent(allocs))
	} else {
		r.updates(tg, by[classUntainted])
	}
	r.fill(tg, &by)
}

// descEarlierJob explains the stop of an allocation of a job that was
// purged and registered again under the same ID.
const descEarlierJob = "alloc belongs to an earlier, purged job of this ID"

// dropEarlierJob removes the allocations of an earlier job of the same ID
// (purged, then registered again: another create index), stopping those
// still live. They hold no slot of the new job and are never rescheduled
// for it: a failed one waiting for a follow-up evaluation would otherwise
// keep its slot, and the new job's first evaluation would place nothing.
func (r *reconciler) dropEarlierJob(group string, allocs []*structs.Allocation) []*structs.Allocation {
	var earlier []*structs.Allocation
	kept := allocs[:0:0]
	for _, a := range allocs {
		if a.Job != nil && a.Job.CreateIndex != r.job.CreateIndex {
			earlier = append(earlier, a)
			continue
		}
		kept = append(kept, a)
	}
	r.stopLive(group, earlier, descEarlierJob)
	return kept
}

// classify puts one allocation in its class; for failed allocations that may
// be rescheduled later it also returns when.
func (r *reconciler) classify(tg *structs.TaskGroup, a *structs.Allocation) (allocClass, time.Time) {
	if a.DesiredStatus != structs.AllocDesiredStatusRun {
		// A batch allocation stopped to move (a drain, alloc stop) was
		// killed, not finished: its replacement, placed or still to be,
		// holds the slot, never the killed one.
		if r.batch && a.RanSuccessfully() && !a.DesiredTransition.ShouldMigrate() {
			return classHeld, time.Time{}
		}
		return classIgnore, time.Time{}
	}
	switch a.ClientStatus {
	case structs.AllocClientStatusComplete:
		if r.batch {
			return classHeld, time.Time{}
		}
		return classIgnore, time.Time{}
	case structs.AllocClientStatusLost:
		return classIgnore, time.Time{}
	case structs.AllocClientStatusFailed:
		if a.NextAllocation != "" {
			return classIgnore, time.Time{}
		}
		return r.classifyFailed(tg, a)
	}
	node := r.nodes[a.NodeID]
	if node == nil || node.Status == structs.NodeStatusDown || node.Status == structs.NodeStatusDisconnected {
		if tg.PreventRescheduleOnLost {
			// The group asked to wait for the node to come back.
			return classHeld, time.Time{}
		}
		return classLost, time.Time{}
	}
	if a.DesiredTransition.ShouldMigrate() || a.DesiredTransition.ShouldForceReschedule() {
		return classMigrate, time.Time{}
	}
	return classUntainted, time.Time{}
}

func (r *reconciler) classifyFailed(tg *structs.TaskGroup, a *structs.Allocation) (allocClass, time.Time) {
	verdict, at := rescheduleDecision(a, reschedulePolicy(r.job, tg), r.eval.ID, r.now)
	switch verdict {
	case rescheduleNow:
		return classRescheduleNow, at
	case rescheduleLater:
		return classRescheduleLater, at
	}
	return classFailed, time.Time{}
}

// reschedulePolicy is the group's policy, or the job type's default.
func reschedulePolicy(job *structs.Job, tg *structs.TaskGroup) *structs.ReschedulePolicy {
	if tg.ReschedulePolicy != nil {
		return tg.ReschedulePolicy
	}
	return structs.DefaultReschedulePolicy(job.Type)
}

// trimExcess stops allocations beyond the group's count, taking first those
// that are going away anyway and, within a class, duplicate names and then the
// highest indexes. Finished batch allocations are never stopped.
func (r *reconciler) trimExcess(tg *structs.TaskGroup, by *[numClasses][]*structs.Allocation) {
	total := 0
	for c := classUntainted; c < numClasses; c++ {
		total += len(by[c])
	}
	excess := total - tg.Count
	du := r.desired(tg.Name)
	// Classes give up allocations in this order: those going away anyway first.
	for _, c := range [...]allocClass{classLost, classRescheduleNow, classRescheduleLater, classFailed, classMigrate, classUntainted} {
		if excess <= 0 {
			return
		}
		sortForStop(by[c])
		n := min(excess, len(by[c]))
		for _, a := range by[c][:n] {
			r.out.stops = append(r.out.stops, excessStop(c, a))
			du.Stop++
		}
		by[c] = by[c][n:]
		excess -= n
	}
}

func excessStop(c allocClass, a *structs.Allocation) allocStop {
	if c == classLost {
		return allocStop{alloc: a, desc: descLost, clientStatus: structs.AllocClientStatusLost}
	}
	return allocStop{alloc: a, desc: descNotNeeded}
}

// sortForStop orders allocations so that the ones to stop first come first:
// duplicated names, then the highest index, then the newest.
func sortForStop(allocs []*structs.Allocation) {
	seen := map[string]int{}
	for _, a := range allocs {
		seen[a.Name]++
	}
	slices.SortStableFunc(allocs, func(x, y *structs.Allocation) int {
		dx, dy := seen[x.Name] > 1, seen[y.Name] > 1
		if dx != dy {
			if dx {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(y.Index(), x.Index()); c != 0 {
			return c
		}
		return cmp.Compare(y.CreateIndex, x.CreateIndex)
	})
}

// replace handles allocations that need a replacement under the same name.
func (r *reconciler) replace(tg *structs.TaskGroup, by *[numClasses][]*structs.Allocation) {
	du := r.desired(tg.Name)
	for _, a := range by[classLost] {
		r.out.places = append(r.out.places, allocPlace{tg: tg, name: a.Name, kind: placeLost, previous: a})
		du.Stop++
		du.Place++
	}
	for _, a := range by[classMigrate] {
		r.out.places = append(r.out.places, allocPlace{tg: tg, name: a.Name, kind: placeMigrate, previous: a})
		du.Migrate++
	}
	for _, a := range by[classRescheduleNow] {
		r.out.places = append(r.out.places, allocPlace{tg: tg, name: a.Name, kind: placeReschedule, previous: a})
		du.Place++
		du.RescheduleNow++
	}
	du.Ignore += uint64(len(by[classHeld]) + len(by[classFailed]))
}

// followups creates one delayed evaluation per batch of failed allocations
// whose reschedule times fall within followupBatchWindow of each other.
func (r *reconciler) followups(tg *structs.TaskGroup, later []*structs.Allocation, at map[string]time.Time) {
	if len(later) == 0 {
		return
	}
	du := r.desired(tg.Name)
	du.RescheduleLater += uint64(len(later))
	du.Ignore += uint64(len(later))
	sorted := slices.Clone(later)
	slices.SortFunc(sorted, func(x, y *structs.Allocation) int { return at[x.ID].Compare(at[y.ID]) })
	var cur *structs.Evaluation
	var start time.Time
	for _, a := range sorted {
		if cur == nil || at[a.ID].Sub(start) > followupBatchWindow {
			start = at[a.ID]
			cur = r.followupEval(start)
			r.out.followups = append(r.out.followups, cur)
		}
		if r.out.followupOf == nil {
			r.out.followupOf = map[string]string{}
		}
		r.out.followupOf[a.ID] = cur.ID
		if n := r.nodes[a.NodeID]; n == nil || n.Status != structs.NodeStatusReady {
			continue
		}
		c := *a
		c.FollowupEvalID = cur.ID
		r.out.followupAllocs = append(r.out.followupAllocs, &c)
	}
}

func (r *reconciler) followupEval(at time.Time) *structs.Evaluation {
	now := r.now.UnixNano()
	return &structs.Evaluation{
		ID: structs.GenerateUUID(), Namespace: r.job.Namespace, Priority: r.eval.Priority,
		Type: r.job.Type, TriggeredBy: structs.EvalTriggerRetryFailedAlloc, JobID: r.job.ID,
		JobModifyIndex: r.job.JobModifyIndex, Status: structs.EvalStatusPending, WaitUntil: at,
		PreviousEval: r.eval.ID, CreateTime: now, ModifyTime: now,
	}
}

// updates sorts healthy allocations of an older job version into in-place and
// destructive updates, all planned at once: the group has no update block
// with max_parallel > 0 (or is batch), so no deployment paces them.
func (r *reconciler) updates(tg *structs.TaskGroup, untainted []*structs.Allocation) {
	du := r.desired(tg.Name)
	for _, a := range untainted {
		switch {
		case sameJobVersion(a.Job, r.job):
			du.Ignore++
		case a.Job == nil || destructiveChange(a.Job, r.job, tg.Name):
			r.out.places = append(r.out.places, allocPlace{tg: tg, name: a.Name, kind: placeDestructive, previous: a})
			du.DestructiveUpdate++
		default:
			r.out.inplace = append(r.out.inplace, a)
			du.InPlaceUpdate++
		}
	}
}

// fill places new allocations up to the group's count under the lowest free
// indexes.
func (r *reconciler) fill(tg *structs.TaskGroup, by *[numClasses][]*structs.Allocation) {
	used := map[uint]bool{}
	have := 0
	for c := classUntainted; c < numClasses; c++ {
		for _, a := range by[c] {
			used[a.Index()] = true
		}
		have += len(by[c])
	}
	du := r.desired(tg.Name)
	next := uint(0)
	for i := have; i < tg.Count; i++ {
		if r.newBudget > 0 && r.newPlaced >= r.newBudget {
			r.out.more = true
			return
		}
		r.newPlaced++
		for used[next] {
			next++
		}
		used[next] = true
		name := structs.AllocName(r.job.ID, tg.Name, next)
		r.out.places = append(r.out.places, allocPlace{tg: tg, name: name, kind: placeNew})
		du.Place++
	}
}
