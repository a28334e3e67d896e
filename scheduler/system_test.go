package scheduler_test

import (
	"testing"
	"time"

	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/structs"
)

func nodeIDs(allocs []*structs.Allocation) map[string]int {
	out := map[string]int{}
	for _, a := range allocs {
		out[a.NodeID]++
	}
	return out
}

func TestSystemOnePerNode(t *testing.T) {
	e := newEnv(t)
	nodes := e.nodes(3)
	e.nodes(1, func(n *structs.Node) { n.Datacenter = "dc9" })
	e.nodes(1, func(n *structs.Node) { n.Attributes["kernel.name"] = "windows" })
	job, eval := e.register(schedtest.MockSystemJob())

	live := e.live(job)
	on := nodeIDs(live)
	if len(live) != 3 || len(on) != 3 {
		t.Fatalf("%d allocations on %d nodes", len(live), len(on))
	}
	for _, n := range nodes {
		if on[n.ID] != 1 {
			t.Fatalf("node %s has %d", n.ID, on[n.ID])
		}
	}
	for _, a := range live {
		if a.Name != job.ID+".agent[0]" {
			t.Fatalf("name %q", a.Name)
		}
	}
	// An infeasible node is not a failure for a system job.
	if eval.Status != structs.EvalStatusComplete || len(eval.FailedTGAllocs) != 0 || len(e.CreateEvals) != 0 {
		t.Fatalf("eval %+v", eval)
	}

	// A new node gets one; nothing else changes.
	added := e.nodes(1)[0]
	e.process(job, structs.EvalTriggerNodeUpdate)
	placed := planAllocs(e.lastPlan())
	if len(placed) != 1 || placed[0].NodeID != added.ID || len(planStops(e.lastPlan())) != 0 {
		t.Fatalf("new node: placed %+v", placed)
	}
}

func TestSystemNodesLeaving(t *testing.T) {
	e := newEnv(t)
	nodes := e.nodes(5)
	job, _ := e.register(schedtest.MockSystemJob())
	byNode := map[string]*structs.Allocation{}
	for _, a := range e.live(job) {
		byNode[a.NodeID] = a
	}

	// 0: ineligible, 1: down, 2: draining, 3: constraint no longer holds.
	if err := e.State.UpdateNodeEligibility(e.NextIndex(), nodes[0].ID, structs.NodeSchedulingIneligible, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.State.UpdateNodeStatus(e.NextIndex(), nodes[1].ID, structs.NodeStatusDown, 0, nil); err != nil {
		t.Fatal(err)
	}
	drain := &structs.DrainStrategy{DrainSpec: structs.DrainSpec{Deadline: time.Hour}}
	if err := e.State.UpdateNodeDrain(e.NextIndex(), nodes[2].ID, drain, false, 0, nil); err != nil {
		t.Fatal(err)
	}
	changed := nodes[3].Copy()
	changed.Attributes["kernel.name"] = "darwin"
	schedtest.ComputeClass(changed)
	e.UpsertNodes(t, changed)

	eval := schedtest.MockEval(job, structs.EvalTriggerNodeUpdate)
	eval.AnnotatePlan = true
	e.processEval(eval)

	get := func(i int) *structs.Allocation {
		a, _ := e.State.AllocByID(nil, byNode[nodes[i].ID].ID)
		return a
	}
	if a := get(0); a.DesiredStatus != structs.AllocDesiredStatusStop || a.DesiredDescription != "alloc not needed as node is not eligible for scheduling" {
		t.Fatalf("ineligible: %+v", a)
	}
	if a := get(1); a.ClientStatus != structs.AllocClientStatusLost || a.DesiredDescription != "alloc is lost since its node is down" {
		t.Fatalf("down: %+v", a)
	}
	if a := get(2); a.TerminalStatus() {
		t.Fatalf("draining node lost its system alloc before the drainer asked: %+v", a)
	}
	if a := get(3); a.DesiredStatus != structs.AllocDesiredStatusStop || a.DesiredDescription != "alloc not needed as node no longer satisfies the job's constraints" {
		t.Fatalf("infeasible: %+v", a)
	}
	if a := get(4); a.TerminalStatus() {
		t.Fatalf("healthy node: %+v", a)
	}
	if du := e.lastPlan().Annotations.DesiredTGUpdates["agent"]; du.Stop != 3 || du.Place != 0 || du.Ignore != 2 {
		t.Fatalf("annotations %+v", du)
	}
	if n := len(planAllocs(e.lastPlan())); n != 0 {
		t.Fatalf("placed %d", n)
	}

	// The drainer asks the draining node's allocation to move: it stops.
	tr := map[string]*structs.DesiredTransition{get(2).ID: {Migrate: ptr(true)}}
	if err := e.State.UpdateAllocsDesiredTransitions(e.NextIndex(), tr, nil); err != nil {
		t.Fatal(err)
	}
	e.process(job, structs.EvalTriggerNodeDrain)
	if a := get(2); !a.TerminalStatus() {
		t.Fatalf("drained: %+v", a)
	}
}

func TestSystemJobUpdate(t *testing.T) {
	e := newEnv(t)
	e.nodes(3)
	job, _ := e.register(schedtest.MockSystemJob())
	before := byID(e.live(job))

	inplace := job.Copy()
	inplace.TaskGroups[0].RestartPolicy = &structs.RestartPolicy{Attempts: 7}
	inplace = e.UpsertJob(t, inplace)
	e.process(inplace, structs.EvalTriggerJobRegister)
	for _, a := range e.live(inplace) {
		if before[a.ID] == nil || a.Job.Version != inplace.Version {
			t.Fatalf("in-place update replaced %s", a.Name)
		}
	}

	destructive := inplace.Copy()
	destructive.TaskGroups[0].Tasks[0].Config["command"] = "/bin/true"
	destructive = e.UpsertJob(t, destructive)
	e.process(destructive, structs.EvalTriggerJobRegister)
	live := e.live(destructive)
	if len(live) != 3 {
		t.Fatalf("%d live", len(live))
	}
	for _, a := range live {
		prev := before[a.PreviousAllocation]
		if before[a.ID] != nil || prev == nil || prev.NodeID != a.NodeID {
			t.Fatalf("destructive update of %s: %+v", a.Name, a)
		}
	}

	// Stopping the job stops everything.
	stopped := destructive.Copy()
	stopped.Stop = true
	stopped = e.UpsertJob(t, stopped)
	e.process(stopped, structs.EvalTriggerJobDeregister)
	if n := len(e.live(stopped)); n != 0 {
		t.Fatalf("%d live after stop", n)
	}
}

func TestSystemExhaustedNode(t *testing.T) {
	e := newEnv(t)
	e.nodes(2)
	e.nodes(1, func(n *structs.Node) { n.NodeResources.Memory.MemoryMB = 300 })
	job, eval := e.register(schedtest.MockSystemJob())
	if n := len(e.live(job)); n != 2 {
		t.Fatalf("%d placed", n)
	}
	m := eval.FailedTGAllocs["agent"]
	if m == nil || m.DimensionExhausted["memory"] != 1 || eval.QueuedAllocations["agent"] != 1 {
		t.Fatalf("failure %+v queued %v", m, eval.QueuedAllocations)
	}
	if len(e.CreateEvals) != 0 {
		t.Fatal("system jobs do not create blocked evaluations")
	}
}

func TestSysBatchNotRerun(t *testing.T) {
	e := newEnv(t)
	e.nodes(2)
	job, _ := e.register(schedtest.MockSysBatchJob())
	live := e.live(job)
	if len(live) != 2 {
		t.Fatalf("%d placed", len(live))
	}
	// One finishes successfully, one fails.
	done := live[0].Copy()
	done.ClientStatus = structs.AllocClientStatusComplete
	done.TaskStates = map[string]*structs.TaskState{"agent": {State: structs.TaskStateDead, FinishedAt: e.now}}
	failed := live[1].Copy()
	failed.ClientStatus = structs.AllocClientStatusFailed
	failed.TaskStates = map[string]*structs.TaskState{"agent": {State: structs.TaskStateDead, Failed: true, FinishedAt: e.now}}
	if err := e.State.UpdateAllocsFromClient(e.NextIndex(), []*structs.Allocation{done, failed}); err != nil {
		t.Fatal(err)
	}

	e.process(job, structs.EvalTriggerNodeUpdate)
	placed := planAllocs(e.lastPlan())
	if len(placed) != 1 || placed[0].NodeID != failed.NodeID {
		t.Fatalf("re-ran %+v", placed)
	}

	// A new version runs again everywhere.
	update := job.Copy()
	update.TaskGroups[0].Tasks[0].Env["RUN"] = "2"
	update = e.UpsertJob(t, update)
	e.process(update, structs.EvalTriggerJobRegister)
	on := nodeIDs(e.live(update))
	if on[done.NodeID] != 1 {
		t.Fatalf("new version not run on the completed node: %v", on)
	}
}
