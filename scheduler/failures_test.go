package scheduler_test

import (
	"strings"
	"testing"

	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/structs"
)

func TestBlockedEvalAndCoalescedMetrics(t *testing.T) {
	e := newEnv(t)
	// Two linux nodes that fit 2 allocations each, two windows nodes.
	e.nodes(2, func(n *structs.Node) {
		n.NodeClass = "small"
		n.NodeResources.Memory.MemoryMB = 800 // 544 MB free after reservations
	})
	e.nodes(2, func(n *structs.Node) { n.NodeClass = "win"; n.Attributes["kernel.name"] = "windows" })

	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 5
	job, eval := e.register(job)

	if n := len(e.live(job)); n != 4 {
		t.Fatalf("%d placed, want 4", n)
	}
	m := eval.FailedTGAllocs["web"]
	if m == nil {
		t.Fatalf("no failure recorded: %+v", eval)
	}
	if m.CoalescedFailures != 0 || eval.QueuedAllocations["web"] != 1 {
		t.Fatalf("coalesced %d queued %d", m.CoalescedFailures, eval.QueuedAllocations["web"])
	}
	if m.NodesEvaluated != 4 || m.NodesFiltered != 2 || m.NodesExhausted != 2 || m.NodesInPool != 4 {
		t.Fatalf("metric %+v", m)
	}
	if m.ConstraintFiltered["${attr.kernel.name} = linux"] != 2 || m.ClassFiltered["win"] != 2 {
		t.Fatalf("filtered %v by class %v", m.ConstraintFiltered, m.ClassFiltered)
	}
	if m.DimensionExhausted["memory"] != 2 || m.ClassExhausted["small"] != 2 {
		t.Fatalf("exhausted %v by class %v", m.DimensionExhausted, m.ClassExhausted)
	}
	if m.NodesAvailable["dc1"] != 4 {
		t.Fatalf("available %v", m.NodesAvailable)
	}

	// One blocked evaluation waits for capacity, with what was learnt about classes.
	if len(e.CreateEvals) != 1 {
		t.Fatalf("%d evals created", len(e.CreateEvals))
	}
	b := e.CreateEvals[0]
	if b.Status != structs.EvalStatusBlocked || b.TriggeredBy != structs.EvalTriggerQueuedAllocs || b.PreviousEval != eval.ID ||
		eval.BlockedEval != b.ID || b.EscapedComputedClass {
		t.Fatalf("blocked eval %+v (eval.BlockedEval %q)", b, eval.BlockedEval)
	}
	var winClass, smallClass string
	nodes, _ := e.State.Nodes(nil, "")
	for _, n := range nodes {
		if n.NodeClass == "win" {
			winClass = n.ComputedClass
		} else {
			smallClass = n.ComputedClass
		}
	}
	if elig, ok := b.ClassEligibility[winClass]; !ok || elig {
		t.Fatalf("class eligibility %v: windows class must be ineligible", b.ClassEligibility)
	}
	if !b.ClassEligibility[smallClass] {
		t.Fatalf("class eligibility %v: linux class must be eligible", b.ClassEligibility)
	}

	// More identical failures coalesce.
	more := job.Copy()
	more.TaskGroups[0].Count = 8
	more = e.UpsertJob(t, more)
	eval = e.process(more, structs.EvalTriggerJobRegister)
	if m := eval.FailedTGAllocs["web"]; m == nil || m.CoalescedFailures != 3 || eval.QueuedAllocations["web"] != 4 {
		t.Fatalf("coalescing: %+v queued %v", m, eval.QueuedAllocations)
	}

	// Processing the blocked evaluation while capacity is still missing
	// puts it back in the blocked tracker rather than creating another.
	created := len(e.CreateEvals)
	if err := e.Process(e.factories["service"], b); err != nil {
		t.Fatal(err)
	}
	if len(e.ReblockEvals) != 1 || len(e.CreateEvals) != created {
		t.Fatalf("reblocked %d, created %d more", len(e.ReblockEvals), len(e.CreateEvals)-created)
	}
	// With a new node it completes.
	e.nodes(4)
	if err := e.Process(e.factories["service"], b); err != nil {
		t.Fatal(err)
	}
	if last := e.LastEval(); last.ID != b.ID || last.Status != structs.EvalStatusComplete || len(e.live(more)) != 8 {
		t.Fatalf("blocked eval after capacity: %+v, live %d", last, len(e.live(more)))
	}
}

func TestNoNodesInDatacenter(t *testing.T) {
	e := newEnv(t)
	e.nodes(2)
	job := schedtest.MockJob()
	job.Datacenters = []string{"dc1", "dc2"}
	job.Constraints = []*structs.Constraint{{LTarget: "${node.datacenter}", RTarget: "dc2", Operand: "="}}
	_, eval := e.register(job)
	m := eval.FailedTGAllocs["web"]
	if m == nil || m.NodesAvailable["dc2"] != 0 || m.NodesAvailable["dc1"] != 2 {
		t.Fatalf("metric %+v", m)
	}
	if _, ok := m.NodesAvailable["dc2"]; !ok {
		t.Fatal("dc2 must be listed with no nodes")
	}

	// Globs match datacenters.
	glob := schedtest.MockJob()
	glob.Datacenters = []string{"d*"}
	glob.TaskGroups[0].Count = 2
	glob, eval = e.register(glob)
	if len(e.live(glob)) != 2 || len(eval.FailedTGAllocs) != 0 {
		t.Fatalf("glob datacenter: %d live %+v", len(e.live(glob)), eval.FailedTGAllocs)
	}
}

func TestNetworkFailureReasons(t *testing.T) {
	e := newEnv(t)
	e.nodes(2)
	e.nodes(1, func(n *structs.Node) {
		n.NodeResources.NodeNetworks[0].Addresses = append(n.NodeResources.NodeNetworks[0].Addresses,
			structs.NodeNetworkAddress{Alias: "public", Address: "203.0.113.9"})
	})

	// Static port 8080: one allocation per address, three nodes.
	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 4
	job.TaskGroups[0].Networks[0].ReservedPorts = []structs.Port{{Label: "http", Value: 8080, To: 8080}}
	job.TaskGroups[0].Networks[0].DynamicPorts = nil
	job, eval := e.register(job)
	if len(e.live(job)) != 3 {
		t.Fatalf("%d placed", len(e.live(job)))
	}
	m := eval.FailedTGAllocs["web"]
	if m == nil || m.DimensionExhausted["network: reserved port collision http=8080"] != 3 {
		t.Fatalf("metric %+v", m)
	}
	for _, a := range e.live(job) {
		if p, _ := a.AllocatedResources.Shared.Ports.Get("http"); p.Value != 8080 || p.To != 8080 {
			t.Fatalf("port %+v", p)
		}
	}

	// A host network only one node has.
	pub := schedtest.MockJob()
	pub.TaskGroups[0].Count = 2
	pub.TaskGroups[0].Networks[0].DynamicPorts = nil
	pub.TaskGroups[0].Networks[0].ReservedPorts = []structs.Port{{Label: "https", Value: 8443, HostNetwork: "public"}}
	pub, eval = e.register(pub)
	m = eval.FailedTGAllocs["web"]
	if len(e.live(pub)) != 1 || m == nil || m.ConstraintFiltered[`missing host network "public" for port "https"`] != 2 ||
		m.DimensionExhausted["network: reserved port collision https=8443"] != 1 {
		t.Fatalf("host network: %d live, metric %+v", len(e.live(pub)), m)
	}
	if p, _ := e.live(pub)[0].AllocatedResources.Shared.Ports.Get("https"); p.HostIP != "203.0.113.9" {
		t.Fatalf("https bound to %q", p.HostIP)
	}

	// A network mode no node has.
	cni := schedtest.MockJob()
	cni.TaskGroups[0].Networks[0].Mode = "cni/weave"
	_, eval = e.register(cni)
	if m := eval.FailedTGAllocs["web"]; m == nil || m.ConstraintFiltered["missing network"] != 3 {
		t.Fatalf("cni: %+v", m)
	}
}

func TestPartialCommitRetries(t *testing.T) {
	e := newEnv(t)
	nodes := e.nodes(4)
	// The plan applier rejects the first node's part once.
	rejected := ""
	e.RejectNode = func(nodeID string, attempt int) bool {
		if attempt == 1 && rejected == "" {
			rejected = nodeID
		}
		return attempt == 1 && nodeID == rejected
	}
	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 4
	job, eval := e.register(job)
	if len(e.Plans) != 2 || e.Results[0].RefreshIndex == 0 {
		t.Fatalf("%d plans, first result %+v", len(e.Plans), e.Results[0])
	}
	if eval.Status != structs.EvalStatusComplete || len(e.live(job)) != 4 {
		t.Fatalf("eval %s, %d live", eval.Status, len(e.live(job)))
	}
	// The retry planned only what was missing.
	second := planAllocs(e.Plans[1])
	if len(second) == 0 || len(second) >= 4 {
		t.Fatalf("retry placed %d", len(second))
	}
	_ = nodes
}

func TestMaxPlanAttempts(t *testing.T) {
	e := newEnv(t)
	e.nodes(2)
	e.RejectNode = func(string, int) bool { return true }
	job := schedtest.MockJob()
	job.TaskGroups[0].Count = 2
	_, eval := e.register(job)
	if len(e.Plans) != 5 {
		t.Fatalf("%d plans, want 5 for a service job", len(e.Plans))
	}
	if eval.Status != structs.EvalStatusFailed || !containsAll(eval.StatusDescription, "maximum plan attempts", "(5)") {
		t.Fatalf("eval %s %q", eval.Status, eval.StatusDescription)
	}
	if len(e.CreateEvals) != 1 || e.CreateEvals[0].TriggeredBy != structs.EvalTriggerMaxPlans || eval.BlockedEval != e.CreateEvals[0].ID {
		t.Fatalf("follow-up %+v", e.CreateEvals)
	}

	batch := schedtest.MockBatchJob()
	e.Plans = nil
	e.register(batch)
	if len(e.Plans) != 2 {
		t.Fatalf("%d plans, want 2 for a batch job", len(e.Plans))
	}
}

func TestDryRunAnnotations(t *testing.T) {
	e := newEnv(t)
	e.nodes(3)
	e.NoApply = true
	job := e.UpsertJob(t, schedtest.MockJob())
	eval := schedtest.MockEval(job, structs.EvalTriggerJobRegister)
	eval.AnnotatePlan = true
	e.processEval(eval)
	p := e.lastPlan()
	if du := p.Annotations.DesiredTGUpdates["web"]; du.Place != 10 {
		t.Fatalf("annotations %+v", du)
	}
	if n := len(e.Allocs(t, job)); n != 0 {
		t.Fatalf("dry run wrote %d allocations", n)
	}
}

// TestCSIVolumeNeedsPlugin: a group asking for a CSI volume is placed on no
// node (no roam client runs CSI plugins), and its placement failure says
// which volume lacks its plugin.
func TestCSIVolumeNeedsPlugin(t *testing.T) {
	e := newEnv(t)
	e.nodes(3)
	job := schedtest.MockJob()
	job.TaskGroups[0].Volumes = map[string]*structs.VolumeRequest{"data": {Name: "data", Type: "csi", Source: "db-vol"}}
	job, eval := e.register(job)
	m := eval.FailedTGAllocs["web"]
	if m == nil || m.ConstraintFiltered[`missing CSI plugin for volume "db-vol"`] != 3 || len(e.live(job)) != 0 {
		t.Fatalf("placed %d; failure %+v", len(e.live(job)), m)
	}
}

// TestGroupWithoutTasksIsNotPlaced: a gateway group, whose task roam does
// not inject, fails to place with a reason instead of running empty.
func TestGroupWithoutTasksIsNotPlaced(t *testing.T) {
	e := newEnv(t)
	e.nodes(2)
	job := schedtest.MockJob()
	job.TaskGroups[0].Tasks = nil
	job, eval := e.register(job)
	m := eval.FailedTGAllocs["web"]
	if m == nil || len(e.live(job)) != 0 {
		t.Fatalf("placed %d; failure %+v", len(e.live(job)), m)
	}
	for reason, n := range m.ConstraintFiltered {
		if !strings.Contains(reason, "no tasks") || n != 2 {
			t.Fatalf("filtered %v", m.ConstraintFiltered)
		}
	}
}
