package scheduler_test

import (
	"slices"
	"testing"
	"time"

	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/structs"
)

// rollingJob is MockJob with a group update block, as canonicalization
// gives every service group.
func rollingJob(count, maxParallel, canary int) *structs.Job {
	job := schedtest.MockJob()
	tg := job.TaskGroups[0]
	tg.Count = count
	u := structs.DefaultUpdateStrategy()
	u.MaxParallel, u.Canary = maxParallel, canary
	tg.Update = &u
	return job
}

// changed returns a copy of job whose tasks must restart (a destructive update).
func changed(job *structs.Job, v string) *structs.Job {
	c := job.Copy()
	c.TaskGroups[0].Tasks[0].Env["FOO"] = v
	return c
}

func (e *env) latestDeployment(job *structs.Job) *structs.Deployment {
	e.t.Helper()
	d, err := e.State.LatestDeploymentByJobID(nil, job.Namespace, job.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// markHealthy reports the allocations healthy, as their clients would.
func (e *env) markHealthy(allocs ...*structs.Allocation) {
	e.t.Helper()
	var ups []*structs.Allocation
	for _, a := range allocs {
		ups = append(ups, &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning,
			DeploymentStatus: &structs.AllocDeploymentStatus{Healthy: ptr(true), Timestamp: e.now, Canary: isCanary(a)}})
	}
	if err := e.State.UpdateAllocsFromClient(e.NextIndex(), ups); err != nil {
		e.t.Fatal(err)
	}
}

func isCanary(a *structs.Allocation) bool {
	return a.DeploymentStatus != nil && a.DeploymentStatus.Canary
}

// ofVersion returns the live allocations running version v.
func (e *env) ofVersion(job *structs.Job, v uint64) []*structs.Allocation {
	return slices.DeleteFunc(e.live(job), func(a *structs.Allocation) bool { return a.Job.Version != v })
}

func (e *env) succeed(d *structs.Deployment) {
	e.t.Helper()
	err := e.State.UpdateDeploymentStatus(e.NextIndex(), &structs.DeploymentStatusUpdateRequest{DeploymentUpdate: &structs.DeploymentStatusUpdate{
		DeploymentID: d.ID, Status: structs.DeploymentStatusSuccessful}})
	if err != nil {
		e.t.Fatal(err)
	}
}

func TestFirstRegistrationCreatesDeployment(t *testing.T) {
	e := newEnv(t)
	e.nodes(3)
	job, eval := e.register(rollingJob(3, 1, 0))
	d := e.latestDeployment(job)
	if d == nil || d.Status != structs.DeploymentStatusRunning || d.JobVersion != job.Version {
		t.Fatalf("deployment %+v", d)
	}
	g := d.TaskGroups["web"]
	if g.DesiredTotal != 3 || g.PlacedAllocs != 3 || !g.RequireProgressBy.Equal(e.now.Add(10*time.Minute)) {
		t.Fatalf("group state %+v", g)
	}
	if eval.DeploymentID != d.ID {
		t.Fatalf("evaluation's deployment %q, want %q", eval.DeploymentID, d.ID)
	}
	// A first roll-out is not paced: there is nothing to replace.
	for _, a := range e.live(job) {
		if a.DeploymentID != d.ID {
			t.Fatalf("allocation %s has deployment %q", a.Name, a.DeploymentID)
		}
	}
}

func TestRollingUpdateReplacesMaxParallelAsAllocationsTurnHealthy(t *testing.T) {
	e := newEnv(t)
	e.nodes(5)
	job, _ := e.register(rollingJob(5, 2, 0))
	first := e.latestDeployment(job)
	e.markHealthy(e.live(job)...)
	e.succeed(first)

	update := e.UpsertJob(t, changed(job, "v2"))
	eval := schedtest.MockEval(update, structs.EvalTriggerJobRegister)
	eval.AnnotatePlan = true
	e.processEval(eval)
	du := e.lastPlan().Annotations.DesiredTGUpdates["web"]
	if du.DestructiveUpdate != 2 || du.Ignore != 3 {
		t.Fatalf("first round annotations %+v, want 2 destructive and 3 ignored", du)
	}
	d := e.latestDeployment(job)
	if d.ID == first.ID || d.JobVersion != update.Version {
		t.Fatalf("no deployment for the new version: %+v", d)
	}
	if n := len(e.ofVersion(job, update.Version)); n != 2 {
		t.Fatalf("%d allocations of the new version, want 2", n)
	}
	// Until those two are healthy, nothing more is replaced.
	e.process(update, structs.EvalTriggerDeploymentWatcher)
	if n := len(e.ofVersion(job, update.Version)); n != 2 {
		t.Fatalf("%d allocations of the new version before any is healthy, want 2", n)
	}
	for round, want := range []int{4, 5} {
		e.markHealthy(e.ofVersion(job, update.Version)...)
		e.process(update, structs.EvalTriggerDeploymentWatcher)
		if n := len(e.ofVersion(job, update.Version)); n != want {
			t.Fatalf("round %d: %d allocations of the new version, want %d", round, n, want)
		}
	}
	if n := len(e.live(job)); n != 5 {
		t.Fatalf("%d live allocations, want 5", n)
	}
	for _, a := range e.live(job) {
		if a.DeploymentID != d.ID {
			t.Fatalf("allocation %s is not in the deployment", a.Name)
		}
	}
}

func TestNewVersionCancelsRunningDeployment(t *testing.T) {
	e := newEnv(t)
	e.nodes(3)
	job, _ := e.register(rollingJob(3, 1, 0))
	first := e.latestDeployment(job)
	update := e.UpsertJob(t, changed(job, "v2"))
	e.process(update, structs.EvalTriggerJobRegister)
	got, _ := e.State.DeploymentByID(nil, first.ID)
	if got.Status != structs.DeploymentStatusCancelled || got.StatusDescription != structs.DeploymentDescNewerJob {
		t.Fatalf("older deployment %s: %q", got.Status, got.StatusDescription)
	}
	// Stopping the job cancels the new one.
	stopped := update.Copy()
	stopped.Stop = true
	stopped = e.UpsertJob(t, stopped)
	e.process(stopped, structs.EvalTriggerJobDeregister)
	d := e.latestDeployment(job)
	if d.Status != structs.DeploymentStatusCancelled || d.StatusDescription != structs.DeploymentDescStoppedJob {
		t.Fatalf("deployment of the stopped job %s: %q", d.Status, d.StatusDescription)
	}
}

func TestCanaryRunsBesideOldVersionUntilPromoted(t *testing.T) {
	e := newEnv(t)
	e.nodes(4)
	job, _ := e.register(rollingJob(3, 1, 1))
	e.markHealthy(e.live(job)...)
	e.succeed(e.latestDeployment(job))

	update := e.UpsertJob(t, changed(job, "v2"))
	eval := schedtest.MockEval(update, structs.EvalTriggerJobRegister)
	eval.AnnotatePlan = true
	e.processEval(eval)
	if du := e.lastPlan().Annotations.DesiredTGUpdates["web"]; du.Canary != 1 || du.DestructiveUpdate != 0 {
		t.Fatalf("annotations %+v, want one canary and no destructive update", du)
	}
	d := e.latestDeployment(job)
	if d.StatusDescription != structs.DeploymentDescRunningNeedPromote || d.TaskGroups["web"].DesiredCanaries != 1 {
		t.Fatalf("deployment %q %+v", d.StatusDescription, d.TaskGroups["web"])
	}
	canaries := e.ofVersion(job, update.Version)
	if len(canaries) != 1 || !isCanary(canaries[0]) || len(e.live(job)) != 4 {
		t.Fatalf("%d new allocations beside %d live, want 1 canary beside the 3 old", len(canaries), len(e.live(job)))
	}
	// Healthy but not promoted: the old version stays.
	e.markHealthy(canaries...)
	e.process(update, structs.EvalTriggerDeploymentWatcher)
	if n := len(e.ofVersion(job, job.Version)); n != 3 {
		t.Fatalf("%d old allocations before promotion, want 3", n)
	}
	if err := e.State.UpdateDeploymentPromotion(e.NextIndex(), &structs.DeploymentPromoteRequest{DeploymentID: d.ID, All: true}); err != nil {
		t.Fatal(err)
	}
	e.process(update, structs.EvalTriggerDeploymentWatcher)
	// The canary's old namesake stops and max_parallel (1) more is replaced.
	if n, m := len(e.ofVersion(job, update.Version)), len(e.ofVersion(job, job.Version)); n != 2 || m != 1 {
		t.Fatalf("after promotion %d new and %d old, want 2 and 1", n, m)
	}
	if names := names(e.live(job)); !slices.Equal(names, []string{job.ID + ".web[0]", job.ID + ".web[1]", job.ID + ".web[2]"}) {
		t.Fatalf("live names %v", names)
	}
	e.markHealthy(e.ofVersion(job, update.Version)...)
	e.process(update, structs.EvalTriggerDeploymentWatcher)
	if n := len(e.ofVersion(job, update.Version)); n != 3 || len(e.live(job)) != 3 {
		t.Fatalf("%d new of %d live, want all 3", n, len(e.live(job)))
	}
}

func TestPausedOrFailedDeploymentReplacesNothing(t *testing.T) {
	for _, status := range []structs.DeploymentStatus{structs.DeploymentStatusPaused, structs.DeploymentStatusFailed} {
		t.Run(string(status), func(t *testing.T) {
			e := newEnv(t)
			e.nodes(3)
			job, _ := e.register(rollingJob(3, 1, 0))
			e.markHealthy(e.live(job)...)
			e.succeed(e.latestDeployment(job))
			update := e.UpsertJob(t, changed(job, "v2"))
			e.process(update, structs.EvalTriggerJobRegister)
			d := e.latestDeployment(job)
			if err := e.State.UpdateDeploymentStatus(e.NextIndex(), &structs.DeploymentStatusUpdateRequest{
				DeploymentUpdate: &structs.DeploymentStatusUpdate{DeploymentID: d.ID, Status: status}}); err != nil {
				t.Fatal(err)
			}
			e.markHealthy(e.ofVersion(job, update.Version)...)
			e.process(update, structs.EvalTriggerDeploymentWatcher)
			if n := len(e.ofVersion(job, update.Version)); n != 1 {
				t.Fatalf("%d new allocations with the deployment %s, want 1", n, status)
			}
		})
	}
}

func TestBatchJobHasNoDeployment(t *testing.T) {
	e := newEnv(t)
	e.nodes(2)
	job := schedtest.MockBatchJob()
	u := structs.DefaultUpdateStrategy()
	job.TaskGroups[0].Update = &u
	job, eval := e.register(job)
	if d := e.latestDeployment(job); d != nil || eval.DeploymentID != "" {
		t.Fatalf("batch job got deployment %+v", d)
	}
}
