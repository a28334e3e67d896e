package scheduler_test

import (
	"testing"

	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/structs"
)

// TestEvalRecordsPlanAnnotations: the evaluation's outcome carries what was
// decided per group, as `nomad eval status -verbose` shows it, without the
// evaluation asking for annotations (only `job plan` does).
func TestEvalRecordsPlanAnnotations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		job   func() *structs.Job
		group string
		place uint64
	}{
		{"service", schedtest.MockJob, "web", 10},
		{"system", schedtest.MockSystemJob, "agent", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.nodes(10)
			job, eval := e.register(tc.job())
			du := annotated(t, eval, tc.group)
			if du.Place != tc.place || du.Stop != 0 {
				t.Fatalf("register: %+v", du)
			}
			if e.lastPlan().Annotations != nil {
				t.Fatal("the plan carries annotations it did not ask for")
			}
			stopped := job.Copy()
			stopped.Stop = true
			e.UpsertJob(t, stopped)
			eval = e.process(stopped, structs.EvalTriggerJobDeregister)
			if du := annotated(t, eval, tc.group); du.Stop == 0 || du.Place != 0 {
				t.Fatalf("stop: %+v", du)
			}
		})
	}
}

func annotated(t *testing.T, eval *structs.Evaluation, group string) *structs.DesiredUpdates {
	t.Helper()
	if eval == nil || eval.PlanAnnotations == nil || eval.PlanAnnotations.DesiredTGUpdates[group] == nil {
		t.Fatalf("evaluation without annotations for %q: %+v", group, eval)
	}
	return eval.PlanAnnotations.DesiredTGUpdates[group]
}
