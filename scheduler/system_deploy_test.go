package scheduler_test

import (
	"testing"

	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/structs"
)

// rollingSystemJob is MockSystemJob with a group update block, as
// canonicalization gives every system group.
func rollingSystemJob(maxParallel int) *structs.Job {
	job := schedtest.MockSystemJob()
	u := structs.DefaultUpdateStrategy()
	u.MaxParallel = maxParallel
	job.TaskGroups[0].Update = &u
	return job
}

// notHealthyYet counts the live allocations of the deployment whose client
// has not reported them healthy: those being replaced right now.
func notHealthyYet(allocs []*structs.Allocation, d *structs.Deployment) int {
	n := 0
	for _, a := range allocs {
		if a.DeploymentID == d.ID && (a.DeploymentStatus == nil || a.DeploymentStatus.Healthy == nil || !*a.DeploymentStatus.Healthy) {
			n++
		}
	}
	return n
}

func TestSystemRollingUpdate(t *testing.T) {
	e := newEnv(t)
	e.nodes(5)
	job, eval := e.register(rollingSystemJob(2))
	first := e.latestDeployment(job)
	if first == nil || first.TaskGroups["agent"].DesiredTotal != 5 || eval.DeploymentID != first.ID {
		t.Fatalf("first registration: deployment %+v, eval %+v", first, eval)
	}
	if n := len(e.live(job)); n != 5 {
		t.Fatalf("first registration placed %d of 5 at once", n)
	}
	e.markHealthy(e.live(job)...)
	e.succeed(first)

	v1 := e.UpsertJob(t, changed(job, "v1"))
	e.process(v1, structs.EvalTriggerJobRegister)
	d := e.latestDeployment(v1)
	if d == nil || d.ID == first.ID || d.JobVersion != v1.Version || d.TaskGroups["agent"].DesiredTotal != 5 {
		t.Fatalf("update deployment %+v", d)
	}
	for round := 0; ; round++ {
		live := e.live(v1)
		if len(live) != 5 {
			t.Fatalf("round %d: %d live allocations, want one per node", round, len(live))
		}
		if n := notHealthyYet(live, d); n > 2 {
			t.Fatalf("round %d: %d allocations replaced at once, max_parallel is 2", round, n)
		}
		fresh := e.ofVersion(v1, v1.Version)
		if len(fresh) == 5 {
			break
		}
		if round > 3 {
			t.Fatalf("roll-out stuck at %d of 5", len(fresh))
		}
		// Nothing more is replaced before the new ones are healthy.
		e.process(v1, structs.EvalTriggerDeploymentWatcher)
		if again := e.ofVersion(v1, v1.Version); len(again) != len(fresh) {
			t.Fatalf("round %d: replaced more (%d → %d) before any was healthy", round, len(fresh), len(again))
		}
		e.markHealthy(fresh...)
		e.process(v1, structs.EvalTriggerDeploymentWatcher)
	}
}

func TestSystemRollingUpdatePausedAndInPlace(t *testing.T) {
	e := newEnv(t)
	e.nodes(3)
	job, _ := e.register(rollingSystemJob(1))
	e.markHealthy(e.live(job)...)
	e.succeed(e.latestDeployment(job))

	// In-place updates are paced too, and join the deployment.
	inplace := job.Copy()
	inplace.TaskGroups[0].RestartPolicy = &structs.RestartPolicy{Attempts: 7}
	inplace = e.UpsertJob(t, inplace)
	e.process(inplace, structs.EvalTriggerJobRegister)
	d := e.latestDeployment(inplace)
	updated := e.ofVersion(inplace, inplace.Version)
	if len(updated) != 1 || updated[0].DeploymentID != d.ID || len(e.live(inplace)) != 3 {
		t.Fatalf("in-place: %d updated of %d", len(updated), len(e.live(inplace)))
	}

	// A paused deployment replaces nothing more.
	pause := &structs.DeploymentStatusUpdate{DeploymentID: d.ID, Status: structs.DeploymentStatusPaused}
	if err := e.State.UpdateDeploymentStatus(e.NextIndex(), &structs.DeploymentStatusUpdateRequest{DeploymentUpdate: pause}); err != nil {
		t.Fatal(err)
	}
	e.markHealthy(updated...)
	e.process(inplace, structs.EvalTriggerDeploymentWatcher)
	if n := len(e.ofVersion(inplace, inplace.Version)); n != 1 {
		t.Fatalf("paused deployment updated %d", n)
	}
}

func TestSystemNoUpdateBlockReplacesAll(t *testing.T) {
	e := newEnv(t)
	e.nodes(3)
	job, _ := e.register(rollingSystemJob(0))
	if d := e.latestDeployment(job); d != nil {
		t.Fatalf("max_parallel 0 created a deployment %+v", d)
	}
	v1 := e.UpsertJob(t, changed(job, "v1"))
	e.process(v1, structs.EvalTriggerJobRegister)
	if n := len(e.ofVersion(v1, v1.Version)); n != 3 {
		t.Fatalf("replaced %d of 3", n)
	}
}
