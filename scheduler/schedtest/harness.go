// Package schedtest runs schedulers against a real state store: a Harness
// whose Planner applies plans the way the server's plan applier does and
// records everything the scheduler asked for, plus Mock* builders for nodes,
// jobs, allocations and evaluations.
package schedtest

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/roam-sh/roam/scheduler"
	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// Harness is a state store plus a recording Planner. Plans are applied with
// state.UpsertPlanResults; evaluations are written with state.UpsertEvals.
type Harness struct {
	State  *state.StateStore
	Logger *slog.Logger

	// RejectNode, when set, is asked for every node of every submitted plan
	// (attempt counts submissions from 1); a node it rejects has its part of
	// the plan dropped and the result asks the scheduler to refresh, the way
	// the plan applier answers when another scheduler got there first.
	// Independently, like the plan applier, the harness rejects placements on
	// nodes that are missing, not ready, or that the allocations do not fit
	// (scheduler.AllocsFit).
	RejectNode func(nodeID string, attempt int) bool
	// NoApply makes SubmitPlan commit nothing while reporting a full commit
	// (a dry run, as for `job plan`).
	NoApply bool
	// Timer, when set (a *testing.B), is stopped while plans are checked and
	// written to the store, so benchmarks measure the scheduler alone.
	Timer interface {
		StopTimer()
		StartTimer()
	}

	mu           sync.Mutex
	index        uint64
	Plans        []*structs.Plan
	Results      []*structs.PlanResult
	Evals        []*structs.Evaluation // UpdateEval calls
	CreateEvals  []*structs.Evaluation
	ReblockEvals []*structs.Evaluation
}

// NewHarness returns a harness with an empty store; logs go to t.Log.
func NewHarness(t testing.TB) *Harness {
	s, err := state.NewStateStore()
	if err != nil {
		t.Fatal(err)
	}
	return &Harness{State: s, Logger: slog.New(slog.NewTextHandler(tLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})), index: 1000}
}

// NewBenchHarness returns a harness whose logs are discarded.
func NewBenchHarness(tb testing.TB) *Harness {
	h := NewHarness(tb)
	h.Logger = slog.New(slog.DiscardHandler)
	return h
}

type tLogWriter struct{ t testing.TB }

func (w tLogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// NextIndex returns a fresh Raft-like index for a write.
func (h *Harness) NextIndex() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.index++
	return h.index
}

// SubmitPlan applies the plan (minus rejected nodes) to the store.
func (h *Harness) SubmitPlan(plan *structs.Plan) (*structs.PlanResult, scheduler.State, error) {
	h.mu.Lock()
	h.Plans = append(h.Plans, plan)
	attempt := len(h.Plans)
	h.mu.Unlock()

	if h.Timer != nil {
		h.Timer.StopTimer()
		defer h.Timer.StartTimer()
	}
	idx := h.NextIndex()
	result := &structs.PlanResult{NodeUpdate: map[string][]*structs.Allocation{}, NodeAllocation: map[string][]*structs.Allocation{}, AllocIndex: idx}
	req := &structs.ApplyPlanResultsRequest{Job: plan.Job, EvalID: plan.EvalID,
		Deployment: plan.Deployment, DeploymentUpdates: plan.DeploymentUpdates}
	result.Deployment, result.DeploymentUpdates = plan.Deployment, plan.DeploymentUpdates
	rejected := map[string]bool{}
	reject := func(node string) bool {
		if r, seen := rejected[node]; seen {
			return r
		}
		r := h.RejectNode != nil && h.RejectNode(node, attempt)
		if !r && len(plan.NodeAllocation[node]) > 0 {
			r = !h.fits(plan, node)
		}
		rejected[node] = r
		return r
	}
	for node, allocs := range plan.NodeUpdate {
		if !reject(node) {
			result.NodeUpdate[node] = allocs
			req.AllocsStopped = append(req.AllocsStopped, allocs...)
		}
	}
	for node, allocs := range plan.NodeAllocation {
		if !reject(node) {
			result.NodeAllocation[node] = allocs
			req.AllocsUpdated = append(req.AllocsUpdated, allocs...)
		}
	}
	for node, r := range rejected {
		if r {
			result.RejectedNodes = append(result.RejectedNodes, node)
		}
	}
	h.mu.Lock()
	h.Results = append(h.Results, result)
	h.mu.Unlock()
	if h.NoApply {
		return result, nil, nil
	}
	if err := h.State.UpsertPlanResults(idx, req); err != nil {
		return nil, nil, fmt.Errorf("apply plan: %w", err)
	}
	if len(result.RejectedNodes) > 0 {
		result.RefreshIndex = idx
		return result, h.State.Snapshot(), nil
	}
	return result, nil, nil
}

// fits re-checks a node's part of the plan against the store, as the plan
// applier does.
func (h *Harness) fits(plan *structs.Plan, nodeID string) bool {
	node, err := h.State.NodeByID(nil, nodeID)
	if err != nil || node == nil || node.Status != structs.NodeStatusReady {
		return false
	}
	existing, err := h.State.AllocsByNodeTerminal(nil, nodeID, false)
	if err != nil {
		return false
	}
	gone := map[string]bool{}
	for _, a := range plan.NodeUpdate[nodeID] {
		gone[a.ID] = true
	}
	placing := plan.NodeAllocation[nodeID]
	for _, a := range placing {
		gone[a.ID] = true
	}
	proposed := slices.DeleteFunc(slices.Clone(existing), func(a *structs.Allocation) bool { return gone[a.ID] })
	ok, _ := scheduler.AllocsFit(node, append(proposed, placing...))
	return ok
}

// UpdateEval records and stores the evaluation.
func (h *Harness) UpdateEval(e *structs.Evaluation) error {
	h.mu.Lock()
	h.Evals = append(h.Evals, e)
	h.mu.Unlock()
	return h.State.UpsertEvals(h.NextIndex(), []*structs.Evaluation{e})
}

// CreateEval records and stores the evaluation.
func (h *Harness) CreateEval(e *structs.Evaluation) error {
	h.mu.Lock()
	h.CreateEvals = append(h.CreateEvals, e)
	h.mu.Unlock()
	return h.State.UpsertEvals(h.NextIndex(), []*structs.Evaluation{e})
}

// ReblockEval records and stores the evaluation.
func (h *Harness) ReblockEval(e *structs.Evaluation) error {
	h.mu.Lock()
	h.ReblockEvals = append(h.ReblockEvals, e)
	h.mu.Unlock()
	return h.State.UpsertEvals(h.NextIndex(), []*structs.Evaluation{e})
}

// Snapshot is the view a worker would hand a scheduler.
func (h *Harness) Snapshot() scheduler.State { return h.State.Snapshot() }

// Process runs one evaluation with a scheduler built by factory over a fresh
// snapshot, like a server worker.
func (h *Harness) Process(factory scheduler.Factory, eval *structs.Evaluation) error {
	return factory(h.Logger, h.Snapshot(), h).Process(eval)
}

// LastEval returns the evaluation's last recorded update, or nil.
func (h *Harness) LastEval() *structs.Evaluation {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.Evals) == 0 {
		return nil
	}
	return h.Evals[len(h.Evals)-1]
}

// Upsert helpers that fail the test on error.

// UpsertNodes stores nodes.
func (h *Harness) UpsertNodes(t testing.TB, nodes ...*structs.Node) {
	t.Helper()
	for _, n := range nodes {
		if err := h.State.UpsertNode(h.NextIndex(), n); err != nil {
			t.Fatal(err)
		}
	}
}

// UpsertJob stores a job version and returns the stored job.
func (h *Harness) UpsertJob(t testing.TB, job *structs.Job) *structs.Job {
	t.Helper()
	if err := h.State.UpsertJob(h.NextIndex(), nil, job); err != nil {
		t.Fatal(err)
	}
	stored, err := h.State.JobByID(nil, job.Namespace, job.ID)
	if err != nil || stored == nil {
		t.Fatalf("job %s not stored: %v", job.ID, err)
	}
	return stored
}

// UpsertAllocs stores allocations as given.
func (h *Harness) UpsertAllocs(t testing.TB, allocs ...*structs.Allocation) {
	t.Helper()
	if err := h.State.UpsertAllocs(h.NextIndex(), allocs); err != nil {
		t.Fatal(err)
	}
}

// Allocs returns the job's allocations in the store.
func (h *Harness) Allocs(t testing.TB, job *structs.Job) []*structs.Allocation {
	t.Helper()
	out, err := h.State.AllocsByJob(nil, job.Namespace, job.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
