package scheduler_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/scheduler"
	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/structs"
)

// testNow is the fixed clock of the scheduler tests.
func testNow() time.Time { return time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC) }

// env is a harness plus the factories bound to a fixed clock.
type env struct {
	*schedtest.Harness
	t         *testing.T
	now       time.Time
	factories map[string]scheduler.Factory
}

func newEnv(t *testing.T) *env {
	e := &env{Harness: schedtest.NewHarness(t), t: t, now: testNow()}
	e.factories = scheduler.Factories(scheduler.Config{Now: func() time.Time { return e.now }})
	return e
}

// nodes stores n mock nodes and returns them.
func (e *env) nodes(n int, modify ...func(*structs.Node)) []*structs.Node {
	out := make([]*structs.Node, n)
	for i := range out {
		node := schedtest.MockNode()
		for _, m := range modify {
			m(node)
		}
		schedtest.ComputeClass(node)
		e.UpsertNodes(e.t, node)
		out[i] = node
	}
	return out
}

// register stores the job and processes a registration evaluation.
func (e *env) register(job *structs.Job) (*structs.Job, *structs.Evaluation) {
	e.t.Helper()
	stored := e.UpsertJob(e.t, job)
	return stored, e.process(stored, structs.EvalTriggerJobRegister)
}

// process runs an evaluation of the job's type and returns its final update.
func (e *env) process(job *structs.Job, trigger structs.EvalTrigger) *structs.Evaluation {
	e.t.Helper()
	return e.processEval(schedtest.MockEval(job, trigger))
}

func (e *env) processEval(eval *structs.Evaluation) *structs.Evaluation {
	e.t.Helper()
	if err := e.Process(e.factories[string(eval.Type)], eval); err != nil {
		e.t.Fatalf("process: %v", err)
	}
	last := e.LastEval()
	if last == nil || last.ID != eval.ID {
		return nil
	}
	return last
}

// live returns the job's allocations that are not terminal.
func (e *env) live(job *structs.Job) []*structs.Allocation {
	return slices.DeleteFunc(e.Allocs(e.t, job), func(a *structs.Allocation) bool { return a.TerminalStatus() })
}

func names(allocs []*structs.Allocation) []string {
	out := make([]string, 0, len(allocs))
	for _, a := range allocs {
		out = append(out, a.Name)
	}
	slices.Sort(out)
	return out
}

// indexes returns the sorted allocation indexes.
func indexes(allocs []*structs.Allocation) []uint {
	out := make([]uint, 0, len(allocs))
	for _, a := range allocs {
		out = append(out, a.Index())
	}
	slices.Sort(out)
	return out
}

func byID(allocs []*structs.Allocation) map[string]*structs.Allocation {
	out := map[string]*structs.Allocation{}
	for _, a := range allocs {
		out[a.ID] = a
	}
	return out
}

// lastPlan returns the last submitted plan.
func (e *env) lastPlan() *structs.Plan {
	e.t.Helper()
	if len(e.Plans) == 0 {
		e.t.Fatal("no plan submitted")
	}
	return e.Plans[len(e.Plans)-1]
}

func planStops(p *structs.Plan) []*structs.Allocation {
	var out []*structs.Allocation
	for _, as := range p.NodeUpdate {
		out = append(out, as...)
	}
	return out
}

func planAllocs(p *structs.Plan) []*structs.Allocation {
	var out []*structs.Allocation
	for _, as := range p.NodeAllocation {
		out = append(out, as...)
	}
	return out
}

// storeAllocs puts allocations for job on nodes (round robin) with the given
// indexes, running.
func (e *env) storeAllocs(job *structs.Job, nodes []*structs.Node, idx ...uint) []*structs.Allocation {
	out := make([]*structs.Allocation, len(idx))
	for i, ix := range idx {
		out[i] = schedtest.MockAlloc(job, nodes[i%len(nodes)], ix)
		if job.TaskGroups[0].Networks != nil {
			// keep the mock simple: no ports held
			out[i].AllocatedResources.Shared.Networks = nil
		}
	}
	e.UpsertAllocs(e.t, out...)
	return out
}

func ptr[T any](v T) *T { return &v }

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
