package scheduler_test

import (
	"slices"
	"testing"
	"time"

	"github.com/roam-sh/roam/scheduler"
	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/structs"
)

func TestNewScheduler(t *testing.T) {
	h := schedtest.NewHarness(t)
	for _, name := range []string{"service", "batch", "system", "sysbatch"} {
		if s, err := scheduler.NewScheduler(name, h.Logger, h.Snapshot(), h); err != nil || s == nil {
			t.Errorf("NewScheduler(%q) = %v, %v", name, s, err)
		}
	}
	if _, err := scheduler.NewScheduler("_core", h.Logger, h.Snapshot(), h); err == nil {
		t.Error("unknown scheduler accepted")
	}
}

func TestServicePlacesAll(t *testing.T) {
	e := newEnv(t)
	e.nodes(10)
	job, eval := e.register(schedtest.MockJob())

	if eval.Status != structs.EvalStatusComplete || len(eval.FailedTGAllocs) != 0 || eval.QueuedAllocations["web"] != 0 {
		t.Fatalf("eval %+v", eval)
	}
	if len(e.Plans) != 1 || e.Plans[0].SnapshotIndex == 0 || e.Plans[0].Job == nil {
		t.Fatalf("want one plan with a snapshot index, got %d", len(e.Plans))
	}
	live := e.live(job)
	want := []uint{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	if got := indexes(live); !slices.Equal(got, want) {
		t.Fatalf("indexes %v", got)
	}
	for _, a := range live {
		p, ok := a.AllocatedResources.Shared.Ports.Get("http")
		if !ok || p.Value < 20000 || p.Value > 32000 || p.To != p.Value || p.HostIP == "" {
			t.Fatalf("http port %+v", p)
		}
		if a.Metrics == nil || a.Metrics.NodesEvaluated == 0 || len(a.Metrics.ScoreMetaData) != 1 {
			t.Fatalf("metrics %+v", a.Metrics)
		}
		if a.Job.Version != job.Version || a.EvalID != eval.ID || a.CreateTime != e.now.UnixNano() {
			t.Fatalf("alloc %+v", a)
		}
	}
	// Allocations in one plan share the job and the group's task resources.
	placed := planAllocs(e.Plans[0])
	if placed[0].Job != placed[1].Job || placed[0].AllocatedResources.Tasks["web"] != placed[1].AllocatedResources.Tasks["web"] {
		t.Fatal("plan allocations do not share the job or task resources")
	}
	// Nothing to do the second time.
	e.process(job, structs.EvalTriggerJobRegister)
	if len(e.Plans) != 1 {
		t.Fatalf("no-op evaluation submitted a plan")
	}
}

func TestServiceScaleUpFillsLowestIndexes(t *testing.T) {
	e := newEnv(t)
	nodes := e.nodes(5)
	job := e.UpsertJob(t, schedtest.MockJob())
	job.TaskGroups[0].Count = 3
	job = e.UpsertJob(t, job)
	e.storeAllocs(job, nodes, 0, 2, 5)

	job.TaskGroups[0].Count = 6
	job = e.UpsertJob(t, job)
	e.process(job, structs.EvalTriggerJobRegister)
	if got := indexes(e.live(job)); !slices.Equal(got, []uint{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("indexes %v", got)
	}
	// The count change updates the three existing allocations in place.
	fresh := 0
	for _, a := range planAllocs(e.lastPlan()) {
		if a.CreateIndex == 0 {
			fresh++
		}
	}
	if fresh != 3 {
		t.Fatalf("placed %d new", fresh)
	}
}

func TestServiceScaleDownStopsHighestIndexes(t *testing.T) {
	e := newEnv(t)
	nodes := e.nodes(5)
	job := e.UpsertJob(t, schedtest.MockJob())
	e.storeAllocs(job, nodes, 0, 1, 2, 3, 4)
	job.TaskGroups[0].Count = 3
	job = e.UpsertJob(t, job)
	e.process(job, structs.EvalTriggerJobRegister)

	stops := planStops(e.lastPlan())
	if got := indexes(stops); !slices.Equal(got, []uint{3, 4}) {
		t.Fatalf("stopped %v", got)
	}
	for _, s := range stops {
		if s.DesiredStatus != structs.AllocDesiredStatusStop || s.DesiredDescription != "alloc not needed due to job update" {
			t.Fatalf("stop %+v", s)
		}
	}
	if got := indexes(e.live(job)); !slices.Equal(got, []uint{0, 1, 2}) {
		t.Fatalf("left %v", got)
	}
}

func TestServiceJobStopAndPurge(t *testing.T) {
	e := newEnv(t)
	e.nodes(3)
	job, _ := e.register(schedtest.MockJob())
	stopped := job.Copy()
	stopped.Stop = true
	stopped = e.UpsertJob(t, stopped)
	e.process(stopped, structs.EvalTriggerJobDeregister)
	if n := len(e.live(job)); n != 0 {
		t.Fatalf("%d allocations still live", n)
	}
	for _, s := range planStops(e.lastPlan()) {
		if s.DesiredDescription != "alloc not needed as job is stopped" {
			t.Fatalf("description %q", s.DesiredDescription)
		}
	}

	// A purged job's allocations are stopped too.
	other, _ := e.register(schedtest.MockJob())
	if err := e.State.DeleteJob(e.NextIndex(), other.Namespace, other.ID); err != nil {
		t.Fatal(err)
	}
	if eval := e.process(other, structs.EvalTriggerJobDeregister); eval.Status != structs.EvalStatusComplete {
		t.Fatalf("eval %+v", eval)
	}
	if n := len(e.live(other)); n != 0 {
		t.Fatalf("%d allocations of the purged job live", n)
	}
}

func TestServiceDestructiveUpdate(t *testing.T) {
	e := newEnv(t)
	e.nodes(5)
	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 3
	job, _ = e.register(job)
	old := e.live(job)

	update := job.Copy()
	update.TaskGroups[0].Tasks[0].Env["FOO"] = "baz"
	update = e.UpsertJob(t, update)
	eval := schedtest.MockEval(update, structs.EvalTriggerJobRegister)
	eval.AnnotatePlan = true
	e.processEval(eval)

	plan := e.lastPlan()
	du := plan.Annotations.DesiredTGUpdates["web"]
	if du.DestructiveUpdate != 3 || du.Place != 0 || du.InPlaceUpdate != 0 {
		t.Fatalf("annotations %+v", du)
	}
	placed := byID(planAllocs(plan))
	for _, s := range planStops(plan) {
		if s.DesiredDescription != "alloc is being updated due to job update" {
			t.Fatalf("description %q", s.DesiredDescription)
		}
		repl := placed[s.NextAllocation]
		if repl == nil || repl.PreviousAllocation != s.ID || repl.Name != s.Name {
			t.Fatalf("replacement of %s: %+v", s.Name, repl)
		}
	}
	all := byID(e.Allocs(t, job))
	for _, a := range old {
		if all[a.ID].NextAllocation == "" || !all[a.ID].TerminalStatus() {
			t.Fatalf("old allocation %+v", all[a.ID])
		}
	}
	for _, a := range e.live(job) {
		if a.Job.Version != update.Version {
			t.Fatalf("replacement runs version %d", a.Job.Version)
		}
	}
}

func TestServiceInPlaceUpdate(t *testing.T) {
	e := newEnv(t)
	e.nodes(5)
	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 3
	job, _ = e.register(job)
	before := byID(e.live(job))

	update := job.Copy()
	update.TaskGroups[0].RestartPolicy = &structs.RestartPolicy{Attempts: 9, Interval: time.Hour, Delay: time.Second, Mode: structs.RestartModeDelay}
	update = e.UpsertJob(t, update)
	e.process(update, structs.EvalTriggerJobRegister)

	if n := len(planStops(e.lastPlan())); n != 0 {
		t.Fatalf("in-place update stopped %d", n)
	}
	after := e.live(update)
	if len(after) != 3 {
		t.Fatalf("%d live", len(after))
	}
	for _, a := range after {
		b := before[a.ID]
		if b == nil || b.NodeID != a.NodeID || a.Job.Version != update.Version {
			t.Fatalf("alloc %s moved or was replaced", a.Name)
		}
		if p, _ := a.AllocatedResources.Shared.Ports.Get("http"); p.Value != mustPort(b, "http") {
			t.Fatal("in-place update changed ports")
		}
	}

	// A constraint the nodes no longer satisfy turns the update destructive,
	// and then there is nowhere to go.
	bad := update.Copy()
	bad.Constraints = []*structs.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "plan9", Operand: "="}}
	bad = e.UpsertJob(t, bad)
	eval := e.process(bad, structs.EvalTriggerJobRegister)
	if eval.FailedTGAllocs["web"] == nil || len(e.live(bad)) != 3 {
		t.Fatalf("infeasible in-place update: failed %+v, live %d", eval.FailedTGAllocs, len(e.live(bad)))
	}
}

func mustPort(a *structs.Allocation, label string) int {
	p, _ := a.AllocatedResources.Shared.Ports.Get(label)
	return p.Value
}

func TestServiceLostOnDownNode(t *testing.T) {
	e := newEnv(t)
	nodes := e.nodes(3)
	job := e.UpsertJob(t, schedtest.MockJob())
	job.TaskGroups[0].Count = 2
	job = e.UpsertJob(t, job)
	allocs := e.storeAllocs(job, nodes[:2], 0, 1)
	if err := e.State.UpdateNodeStatus(e.NextIndex(), nodes[0].ID, structs.NodeStatusDown, 0, nil); err != nil {
		t.Fatal(err)
	}
	e.process(job, structs.EvalTriggerNodeUpdate)

	lost, _ := e.State.AllocByID(nil, allocs[0].ID)
	if lost.ClientStatus != structs.AllocClientStatusLost || lost.DesiredStatus != structs.AllocDesiredStatusStop ||
		lost.DesiredDescription != "alloc is lost since its node is down" || lost.NextAllocation == "" {
		t.Fatalf("lost alloc %+v", lost)
	}
	repl, _ := e.State.AllocByID(nil, lost.NextAllocation)
	if repl.Name != lost.Name || repl.NodeID == nodes[0].ID || repl.PreviousAllocation != lost.ID {
		t.Fatalf("replacement %+v", repl)
	}
	if n := len(e.live(job)); n != 2 {
		t.Fatalf("%d live", n)
	}
}

func TestServiceMigrateOnDrain(t *testing.T) {
	e := newEnv(t)
	nodes := e.nodes(3)
	job := e.UpsertJob(t, schedtest.MockJob())
	job.TaskGroups[0].Count = 2
	job = e.UpsertJob(t, job)
	allocs := e.storeAllocs(job, nodes[:1], 0, 1)
	drain := &structs.DrainStrategy{DrainSpec: structs.DrainSpec{Deadline: time.Hour}}
	if err := e.State.UpdateNodeDrain(e.NextIndex(), nodes[0].ID, drain, false, 0, nil); err != nil {
		t.Fatal(err)
	}
	// The drainer marks one allocation at a time.
	tr := map[string]*structs.DesiredTransition{allocs[0].ID: {Migrate: ptr(true)}}
	if err := e.State.UpdateAllocsDesiredTransitions(e.NextIndex(), tr, nil); err != nil {
		t.Fatal(err)
	}
	eval := schedtest.MockEval(job, structs.EvalTriggerNodeDrain)
	eval.AnnotatePlan = true
	e.processEval(eval)

	plan := e.lastPlan()
	if du := plan.Annotations.DesiredTGUpdates["web"]; du.Migrate != 1 || du.Ignore != 1 {
		t.Fatalf("annotations %+v", du)
	}
	stops := planStops(plan)
	if len(stops) != 1 || stops[0].ID != allocs[0].ID || stops[0].DesiredDescription != "alloc is being migrated" {
		t.Fatalf("stops %+v", stops)
	}
	placed := planAllocs(plan)
	if len(placed) != 1 || placed[0].NodeID == nodes[0].ID || placed[0].Name != allocs[0].Name {
		t.Fatalf("placed %+v", placed)
	}
}

func TestServiceAllocStopIsReplaced(t *testing.T) {
	e := newEnv(t)
	e.nodes(2)
	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 1
	job, _ = e.register(job)
	a := e.live(job)[0]
	tr := map[string]*structs.DesiredTransition{a.ID: {Migrate: ptr(true)}}
	if err := e.State.UpdateAllocsDesiredTransitions(e.NextIndex(), tr, nil); err != nil {
		t.Fatal(err)
	}
	e.process(job, structs.EvalTriggerAllocStop)
	live := e.live(job)
	if len(live) != 1 || live[0].ID == a.ID || live[0].PreviousAllocation != a.ID {
		t.Fatalf("live %+v", live)
	}
}

// failAlloc marks an allocation failed at the given time.
func (e *env) failAlloc(a *structs.Allocation, at time.Time) {
	e.t.Helper()
	f := a.Copy()
	f.ClientStatus = structs.AllocClientStatusFailed
	f.TaskStates = map[string]*structs.TaskState{"web": {State: structs.TaskStateDead, Failed: true, FinishedAt: at}}
	if err := e.State.UpdateAllocsFromClient(e.NextIndex(), []*structs.Allocation{f}); err != nil {
		e.t.Fatal(err)
	}
}

func TestServiceRescheduleNow(t *testing.T) {
	e := newEnv(t)
	e.nodes(3)
	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 1
	job.TaskGroups[0].ReschedulePolicy = &structs.ReschedulePolicy{Attempts: 2, Interval: time.Hour, Delay: 5 * time.Second, DelayFunction: "constant"}
	job, _ = e.register(job)
	a := e.live(job)[0]
	e.failAlloc(a, e.now.Add(-time.Minute))

	eval := schedtest.MockEval(job, structs.EvalTriggerRetryFailedAlloc)
	eval.AnnotatePlan = true
	e.processEval(eval)
	if du := e.lastPlan().Annotations.DesiredTGUpdates["web"]; du.RescheduleNow != 1 || du.Place != 1 {
		t.Fatalf("annotations %+v", du)
	}
	old, _ := e.State.AllocByID(nil, a.ID)
	if old.DesiredStatus != structs.AllocDesiredStatusStop || old.DesiredDescription != "alloc was rescheduled because it failed" || old.NextAllocation == "" {
		t.Fatalf("failed alloc %+v", old)
	}
	repl, _ := e.State.AllocByID(nil, old.NextAllocation)
	if repl.PreviousAllocation != a.ID || repl.Name != a.Name || repl.RescheduleTracker == nil {
		t.Fatalf("replacement %+v", repl)
	}
	ev := repl.RescheduleTracker.Events
	if len(ev) != 1 || ev[0].PrevAllocID != a.ID || ev[0].PrevNodeID != a.NodeID || ev[0].Delay != 5*time.Second {
		t.Fatalf("tracker %+v", ev[0])
	}
	if repl.NodeID == a.NodeID {
		t.Fatal("rescheduled onto the node it failed on despite other nodes")
	}

	// Fail twice more: the second reschedule happens, the third is refused.
	e.failAlloc(repl, e.now.Add(-time.Minute))
	e.process(job, structs.EvalTriggerRetryFailedAlloc)
	live := e.live(job)
	if len(live) != 1 || len(live[0].RescheduleTracker.Events) != 2 {
		t.Fatalf("second reschedule: %+v", live)
	}
	e.failAlloc(live[0], e.now.Add(-time.Minute))
	e.process(job, structs.EvalTriggerRetryFailedAlloc)
	if n := len(e.live(job)); n != 0 {
		t.Fatalf("rescheduled past its attempts: %d live", n)
	}
}

func TestServiceRescheduleLater(t *testing.T) {
	e := newEnv(t)
	e.nodes(3)
	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 2
	job.TaskGroups[0].ReschedulePolicy = &structs.ReschedulePolicy{Delay: 30 * time.Second, DelayFunction: "exponential", MaxDelay: time.Hour, Unlimited: true}
	job, _ = e.register(job)
	allocs := e.live(job)
	e.failAlloc(allocs[0], e.now)
	e.failAlloc(allocs[1], e.now.Add(2*time.Second))

	eval := schedtest.MockEval(job, structs.EvalTriggerRetryFailedAlloc)
	eval.AnnotatePlan = true
	e.processEval(eval)
	if du := e.lastPlan().Annotations.DesiredTGUpdates["web"]; du.RescheduleLater != 2 || du.Place != 0 {
		t.Fatalf("annotations %+v", du)
	}
	if len(e.CreateEvals) != 1 {
		t.Fatalf("want one batched follow-up eval, got %d", len(e.CreateEvals))
	}
	follow := e.CreateEvals[0]
	if follow.TriggeredBy != structs.EvalTriggerRetryFailedAlloc || !follow.WaitUntil.Equal(e.now.Add(30*time.Second)) ||
		follow.Status != structs.EvalStatusPending || follow.PreviousEval != eval.ID {
		t.Fatalf("follow-up %+v", follow)
	}
	for _, a := range allocs {
		got, _ := e.State.AllocByID(nil, a.ID)
		if got.FollowupEvalID != follow.ID {
			t.Fatalf("alloc %s follow-up %q", a.Name, got.FollowupEvalID)
		}
	}
	// Another evaluation before the delay does not create a second one.
	e.process(job, structs.EvalTriggerNodeUpdate)
	if len(e.CreateEvals) != 1 {
		t.Fatalf("follow-up created twice")
	}
	// When the follow-up runs (the delay elapsed), both are replaced.
	e.now = e.now.Add(31 * time.Second)
	e.processEval(follow)
	live := e.live(job)
	if len(live) != 2 || live[0].RescheduleTracker == nil || live[0].RescheduleTracker.Events[0].Delay != 30*time.Second {
		t.Fatalf("after follow-up: %+v", live)
	}
}

// A job purged while its failed allocation waits for a delayed reschedule,
// then registered again under the same ID: the new job's first evaluation
// places its allocation at once (the old one holds no slot of it), and the
// old follow-up evaluation, when it runs, places nothing more.
func TestPurgedJobRegisteredAgainPlacesAtOnce(t *testing.T) {
	e := newEnv(t)
	e.nodes(2)
	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 1
	job.TaskGroups[0].ReschedulePolicy = &structs.ReschedulePolicy{Delay: 30 * time.Second, DelayFunction: "constant", Unlimited: true}
	job, _ = e.register(job)
	e.failAlloc(e.live(job)[0], e.now)
	e.process(job, structs.EvalTriggerRetryFailedAlloc)
	if len(e.CreateEvals) != 1 {
		t.Fatalf("want a follow-up evaluation, got %d", len(e.CreateEvals))
	}
	follow := e.CreateEvals[0]

	if err := e.State.DeleteJob(e.NextIndex(), job.Namespace, job.ID); err != nil {
		t.Fatal(err)
	}
	again := schedtest.MockJob()
	again.ID, again.Name = job.ID, job.Name
	again.TaskGroups[0].Count = 1
	again, _ = e.register(again)
	if again.CreateIndex == job.CreateIndex {
		t.Fatal("the registered-again job kept the purged one's create index")
	}
	live := e.live(again)
	if len(live) != 1 || live[0].PreviousAllocation != "" {
		t.Fatalf("after registering again: %d live, %+v", len(live), live)
	}
	e.now = e.now.Add(31 * time.Second)
	e.processEval(follow)
	if n := len(e.live(again)); n != 1 {
		t.Fatalf("the purged job's follow-up placed more: %d live", n)
	}
}

func TestBatchCompletedNotReplaced(t *testing.T) {
	e := newEnv(t)
	e.nodes(3)
	job := schedtest.MockBatchJob()
	job.TaskGroups[0].Count = 3
	job.TaskGroups[0].ReschedulePolicy = &structs.ReschedulePolicy{Attempts: 1, Interval: time.Hour, Delay: time.Second, DelayFunction: "constant"}
	job, _ = e.register(job)
	allocs := e.live(job)

	done := allocs[0].Copy()
	done.ClientStatus = structs.AllocClientStatusComplete
	done.TaskStates = map[string]*structs.TaskState{"web": {State: structs.TaskStateDead, FinishedAt: e.now}}
	if err := e.State.UpdateAllocsFromClient(e.NextIndex(), []*structs.Allocation{done}); err != nil {
		t.Fatal(err)
	}
	e.failAlloc(allocs[1], e.now.Add(-time.Minute))

	eval := schedtest.MockEval(job, structs.EvalTriggerRetryFailedAlloc)
	eval.AnnotatePlan = true
	e.processEval(eval)
	du := e.lastPlan().Annotations.DesiredTGUpdates["web"]
	if du.Place != 1 || du.RescheduleNow != 1 || du.Ignore != 2 {
		t.Fatalf("annotations %+v", du)
	}
	placed := planAllocs(e.lastPlan())
	if len(placed) != 1 || placed[0].PreviousAllocation != allocs[1].ID {
		t.Fatalf("placed %+v", placed)
	}
	// Running the job again (a new version) does not re-run the completed one.
	e.process(job, structs.EvalTriggerJobRegister)
	if n := len(e.live(job)); n != 2 {
		t.Fatalf("%d live", n)
	}
}

func TestBinPackPrefersFullerNodes(t *testing.T) {
	e := newEnv(t)
	// Two nodes: both are candidates (a service job scores at least two).
	nodes := e.nodes(2)
	other := e.UpsertJob(t, schedtest.MockJob())
	// The second node already runs something.
	e.storeAllocs(other, nodes[1:2], 0, 1, 2)

	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 1
	job, _ = e.register(job)
	if got := e.live(job)[0].NodeID; got != nodes[1].ID {
		t.Fatalf("placed on %s, want the busier node %s", got, nodes[1].ID)
	}
}

func TestCoresReservation(t *testing.T) {
	e := newEnv(t)
	e.nodes(1, func(n *structs.Node) { n.ReservedResources.Cpu.CpuShares = 0 })
	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 3
	job.TaskGroups[0].Tasks[0].Resources = &structs.Resources{Cores: 2, MemoryMB: 256}
	job, eval := e.register(job)

	live := e.live(job)
	if len(live) != 2 {
		t.Fatalf("%d placed, want 2 (4 cores)", len(live))
	}
	seen := map[uint16]bool{}
	for _, a := range live {
		cpu := a.AllocatedResources.Tasks["web"].Cpu
		if len(cpu.ReservedCores) != 2 || cpu.CpuShares != 2000 {
			t.Fatalf("cpu %+v", cpu)
		}
		for _, c := range cpu.ReservedCores {
			if seen[c] {
				t.Fatalf("core %d given twice", c)
			}
			seen[c] = true
		}
	}
	m := eval.FailedTGAllocs["web"]
	if m == nil || m.DimensionExhausted["cores"] != 1 || m.NodesExhausted != 1 {
		t.Fatalf("failure metric %+v", m)
	}
}

func TestAffinityAndSpread(t *testing.T) {
	e := newEnv(t)
	e.nodes(4, func(n *structs.Node) { n.Meta["rack"] = "r1" })
	e.nodes(4, func(n *structs.Node) { n.Meta["rack"] = "r2" })

	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 4
	job.Affinities = []*structs.Affinity{{LTarget: "${meta.rack}", RTarget: "r2", Operand: "=", Weight: 100}}
	job, _ = e.register(job)
	for _, a := range e.live(job) {
		n, _ := e.State.NodeByID(nil, a.NodeID)
		if n.Meta["rack"] != "r2" {
			t.Fatalf("affinity ignored: %s on %s", a.Name, n.Meta["rack"])
		}
	}

	spread := schedtest.MockJob()
	spread.TaskGroups[0].Count = 8
	spread.Spreads = []*structs.Spread{{Attribute: "${meta.rack}", Weight: 100, SpreadTarget: []*structs.SpreadTarget{{Value: "r1", Percent: 75}, {Value: "r2", Percent: 25}}}}
	spread, _ = e.register(spread)
	count := map[string]int{}
	for _, a := range e.live(spread) {
		n, _ := e.State.NodeByID(nil, a.NodeID)
		count[n.Meta["rack"]]++
	}
	if count["r1"] != 6 || count["r2"] != 2 {
		t.Fatalf("spread %v, want r1:6 r2:2", count)
	}

	even := schedtest.MockJob()
	even.TaskGroups[0].Count = 6
	even.TaskGroups[0].Spreads = []*structs.Spread{{Attribute: "${meta.rack}", Weight: 50}}
	even, _ = e.register(even)
	count = map[string]int{}
	for _, a := range e.live(even) {
		n, _ := e.State.NodeByID(nil, a.NodeID)
		count[n.Meta["rack"]]++
	}
	if count["r1"] != 3 || count["r2"] != 3 {
		t.Fatalf("even spread %v", count)
	}
}

func TestDistinctHostsAndProperty(t *testing.T) {
	e := newEnv(t)
	e.nodes(2, func(n *structs.Node) { n.Meta["rack"] = "r1" })
	e.nodes(1, func(n *structs.Node) { n.Meta["rack"] = "r2" })

	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 4
	job.TaskGroups[0].Constraints = []*structs.Constraint{{Operand: structs.ConstraintDistinctHosts}}
	job, eval := e.register(job)
	if n := len(e.live(job)); n != 3 {
		t.Fatalf("distinct_hosts placed %d on 3 nodes", n)
	}
	if m := eval.FailedTGAllocs["web"]; m == nil || m.ConstraintFiltered["distinct_hosts"] != 3 {
		t.Fatalf("metric %+v", m)
	}

	prop := schedtest.MockJob()
	prop.TaskGroups[0].Count = 3
	prop.Constraints = append(prop.Constraints, &structs.Constraint{LTarget: "${meta.rack}", RTarget: "1", Operand: structs.ConstraintDistinctProperty})
	prop, eval = e.register(prop)
	racks := map[string]bool{}
	for _, a := range e.live(prop) {
		n, _ := e.State.NodeByID(nil, a.NodeID)
		racks[n.Meta["rack"]] = true
	}
	if len(e.live(prop)) != 2 || len(racks) != 2 || eval.FailedTGAllocs["web"].ConstraintFiltered["distinct_property"] == 0 {
		t.Fatalf("distinct_property: %d live on %v, failed %+v", len(e.live(prop)), racks, eval.FailedTGAllocs)
	}
	blocked := e.CreateEvals[len(e.CreateEvals)-1]
	if !blocked.EscapedComputedClass {
		t.Fatal("distinct_property must escape class eligibility")
	}
}

// TestBatchAllocStoppedByDrainReplacedAfterDrain: a batch allocation
// stopped by a node drain, on the only node, could not be placed anywhere
// else; once the drain is lifted it is placed again, rather than its
// killed (not failed) tasks counting as the job's work done.
func TestBatchAllocStoppedByDrainReplacedAfterDrain(t *testing.T) {
	e := newEnv(t)
	node := e.nodes(1)[0]
	job := schedtest.MockBatchJob()
	job.TaskGroups[0].Count = 1
	job, _ = e.register(job)
	a := e.live(job)[0]

	if err := e.State.UpdateNodeDrain(e.NextIndex(), node.ID, &structs.DrainStrategy{}, false, 0, nil); err != nil {
		t.Fatal(err)
	}
	tr := map[string]*structs.DesiredTransition{a.ID: {Migrate: ptr(true)}}
	if err := e.State.UpdateAllocsDesiredTransitions(e.NextIndex(), tr, nil); err != nil {
		t.Fatal(err)
	}
	e.process(job, structs.EvalTriggerNodeDrain)
	if live := e.live(job); len(live) != 0 {
		t.Fatalf("live during the drain: %+v", live)
	}
	// The client kills the stopped allocation's task: dead, not failed.
	killed := a.Copy()
	killed.ClientStatus = structs.AllocClientStatusComplete
	killed.TaskStates = map[string]*structs.TaskState{"web": {State: structs.TaskStateDead, FinishedAt: e.now}}
	if err := e.State.UpdateAllocsFromClient(e.NextIndex(), []*structs.Allocation{killed}); err != nil {
		t.Fatal(err)
	}

	if err := e.State.UpdateNodeDrain(e.NextIndex(), node.ID, nil, true, 0, nil); err != nil {
		t.Fatal(err)
	}
	e.process(job, structs.EvalTriggerNodeUpdate)
	live := e.live(job)
	if len(live) != 1 || live[0].ID == a.ID || live[0].Name != a.Name {
		t.Fatalf("after the drain was lifted, live %+v, want a new %s", live, a.Name)
	}
	// Placed, it stays the job's one allocation.
	e.process(job, structs.EvalTriggerJobRegister)
	if n := len(e.live(job)); n != 1 {
		t.Fatalf("%d live after another evaluation", n)
	}
}
