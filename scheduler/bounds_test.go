package scheduler_test

import (
	"testing"
	"time"

	"github.com/roam-sh/roam/scheduler"
	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/structs"
)

// A group whose count is beyond the per-evaluation budget is accepted and
// placed over several evaluations, each plan holding at most the budget;
// before the budget one evaluation planned every allocation at once.
func TestSecurityBoundsPlacementsPerEval(t *testing.T) {
	e := newEnv(t)
	e.factories = scheduler.Factories(scheduler.Config{Now: func() time.Time { return e.now }, MaxPlacementsPerEval: 4})
	e.nodes(5)
	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 10
	job, eval := e.register(job)
	for round := 0; ; round++ {
		if eval == nil || eval.Status != structs.EvalStatusComplete {
			t.Fatalf("round %d: eval %+v", round, eval)
		}
		if n := len(planAllocs(e.lastPlan())); n > 4 {
			t.Fatalf("round %d: one plan placed %d allocations, budget 4", round, n)
		}
		next := continuation(e, eval.ID)
		if next == nil {
			break
		}
		if round > 3 {
			t.Fatal("continuations did not stop")
		}
		eval = e.processEval(next)
	}
	if got := len(e.live(job)); got != 10 {
		t.Fatalf("placed %d allocations, want 10", got)
	}
}

// A job stopped while its placements continue stops the continuation: it
// places nothing more.
func TestSecurityBoundsStopEndsContinuation(t *testing.T) {
	e := newEnv(t)
	e.factories = scheduler.Factories(scheduler.Config{Now: func() time.Time { return e.now }, MaxPlacementsPerEval: 3})
	e.nodes(3)
	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 9
	job, eval := e.register(job)
	next := continuation(e, eval.ID)
	if next == nil {
		t.Fatal("no continuation for the remaining placements")
	}
	stopped := job.Copy()
	stopped.Stop = true
	e.UpsertJob(t, stopped)
	last := e.processEval(next)
	if last == nil || last.Status != structs.EvalStatusComplete {
		t.Fatalf("continuation eval %+v", last)
	}
	if live := e.live(job); len(live) != 0 {
		t.Fatalf("%d allocations live after the stop", len(live))
	}
	if continuation(e, next.ID) != nil {
		t.Fatal("a stopped job's continuation created another")
	}
}

// continuation is the pending evaluation created after prev, if any.
func continuation(e *env, prev string) *structs.Evaluation {
	for _, c := range e.CreateEvals {
		if c.PreviousEval == prev && c.Status == structs.EvalStatusPending && c.TriggeredBy == structs.EvalTriggerQueuedAllocs {
			return c
		}
	}
	return nil
}

// A job whose placements fail beyond the budget gets a blocked evaluation,
// not an endless chain of continuations retrying the same failures (each
// one a new blocked evaluation holding every failed group).
func TestSecurityBoundsFailedPlacementsDoNotContinue(t *testing.T) {
	e := newEnv(t)
	e.factories = scheduler.Factories(scheduler.Config{Now: func() time.Time { return e.now }, MaxPlacementsPerEval: 3})
	e.nodes(2)
	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 9
	job.TaskGroups[0].Tasks[0].Resources.MemoryMB = 1 << 30 // fits no node
	job, eval := e.register(job)
	if eval == nil || eval.Status != structs.EvalStatusComplete {
		t.Fatalf("eval %+v", eval)
	}
	if next := continuation(e, eval.ID); next != nil {
		t.Fatalf("a continuation %s retries placements that just failed", next.ID)
	}
	if len(e.live(job)) != 0 {
		t.Fatalf("placed %d allocations that fit no node", len(e.live(job)))
	}
	blocked := 0
	for _, c := range e.CreateEvals {
		if c.Status == structs.EvalStatusBlocked && c.PreviousEval == eval.ID {
			blocked++
		}
	}
	if blocked != 1 {
		t.Fatalf("%d blocked evaluations wait for capacity, want 1", blocked)
	}
}
