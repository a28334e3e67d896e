package server

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/structs"
)

// submitPlan sends a plan through the leader's plan queue and applier.
func submitPlan(t *testing.T, s *Server, plan *structs.Plan) *structs.PlanResult {
	t.Helper()
	pending, err := s.planQueue.Enqueue(plan)
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	result, err := pending.wait(ctx, time.Second, func() {})
	must(t, err)
	return result
}

// stageJob stores a job without evaluating it, so no scheduler places it.
func stageJob(t *testing.T, s *Server, id string) *structs.Job {
	t.Helper()
	job := testJob(id, 1)
	job.Canonicalize()
	_, _, err := s.raftApply(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job})
	must(t, err)
	stored, _ := s.State().JobByID(nil, "default", id)
	return stored
}

func mockAllocs(job *structs.Job, node *structs.Node, n int) []*structs.Allocation {
	out := make([]*structs.Allocation, n)
	for i := range out {
		out[i] = schedtest.MockAlloc(job, node, uint(i))
		out[i].ClientStatus = structs.AllocClientStatusPending
	}
	return out
}

func TestPlanApplierRejectsOvercommittedNode(t *testing.T) {
	s := testServer(t)
	full, free := registerNode(t, s), registerNode(t, s)
	job := stageJob(t, s, "web")

	// Each mock alloc asks 500 MHz; a mock node offers 3900 after reservations.
	overcommit, fits := mockAllocs(job, full, 8), mockAllocs(job, free, 1)
	plan := &structs.Plan{Priority: 50, Job: job, NodeAllocation: map[string][]*structs.Allocation{
		full.ID: overcommit, free.ID: fits,
	}}
	before, _ := s.State().LatestIndex()
	result := submitPlan(t, s, plan)
	if !slices.Equal(result.RejectedNodes, []string{full.ID}) {
		t.Fatalf("rejected nodes %v, want [%s]", result.RejectedNodes, full.ID)
	}
	if result.RefreshIndex <= before || result.AllocIndex == 0 {
		t.Fatalf("refresh index %d alloc index %d (state was at %d)", result.RefreshIndex, result.AllocIndex, before)
	}
	if len(result.NodeAllocation[full.ID]) != 0 || len(result.NodeAllocation[free.ID]) != 1 {
		t.Fatalf("committed %+v", result.NodeAllocation)
	}
	if ok, _, _ := result.FullCommit(plan); ok {
		t.Fatal("partial result reported as full commit")
	}
	for _, a := range overcommit {
		if got, _ := s.State().AllocByID(nil, a.ID); got != nil {
			t.Fatalf("alloc %s of the rejected node was committed", a.ID)
		}
	}
	if got, _ := s.State().AllocByID(nil, fits[0].ID); got == nil || got.Job == nil {
		t.Fatal("alloc of the fitting node not committed (with its job)")
	}

	// All at once: the fitting part is not committed either.
	plan.AllAtOnce = true
	again := mockAllocs(job, free, 1)
	plan.NodeAllocation[free.ID] = again
	result = submitPlan(t, s, plan)
	if len(result.NodeAllocation) != 0 || result.RefreshIndex == 0 || result.AllocIndex != 0 {
		t.Fatalf("all-at-once plan partly committed: %+v", result)
	}
	if got, _ := s.State().AllocByID(nil, again[0].ID); got != nil {
		t.Fatal("all-at-once plan committed its fitting part")
	}
}

func TestPlanApplierPipelinesAgainstInflightPlan(t *testing.T) {
	s := testServer(t)
	node := registerNode(t, s)
	job := stageJob(t, s, "web")

	// Two plans that each fit alone but not together: the second must be
	// rejected even if it is verified before the first commits.
	p1 := &structs.Plan{Priority: 50, Job: job, NodeAllocation: map[string][]*structs.Allocation{node.ID: mockAllocs(job, node, 5)}}
	p2 := &structs.Plan{Priority: 50, Job: job, NodeAllocation: map[string][]*structs.Allocation{node.ID: mockAllocs(job, node, 5)}}
	pend1, err := s.planQueue.Enqueue(p1)
	must(t, err)
	pend2, err := s.planQueue.Enqueue(p2)
	must(t, err)
	ctx := context.Background()
	r1, err := pend1.wait(ctx, time.Second, func() {})
	must(t, err)
	r2, err := pend2.wait(ctx, time.Second, func() {})
	must(t, err)
	if len(r1.NodeAllocation[node.ID]) != 5 || len(r2.RejectedNodes) != 1 || r2.RefreshIndex < r1.AllocIndex {
		t.Fatalf("first %+v, second %+v", r1, r2)
	}
	allocs, _ := s.State().AllocsByNode(nil, node.ID)
	if len(allocs) != 5 {
		t.Fatalf("node holds %d allocations, want 5", len(allocs))
	}
}

func TestPlanApplierChecksEvalToken(t *testing.T) {
	s := testServer(t)
	pending, err := s.planQueue.Enqueue(&structs.Plan{EvalID: structs.GenerateUUID(), EvalToken: "stale"})
	must(t, err)
	if _, err := pending.wait(context.Background(), time.Second, func() {}); err == nil {
		t.Fatal("plan with a token the broker does not know was applied")
	}
}
