package scheduler

import (
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// usageState is a State holding a few allocations, with the per-node sum
// computed the way the state store keeps it.
type usageState struct {
	State  // the methods nodeUsage does not use panic
	allocs map[string]*structs.Allocation
}

func (s *usageState) AllocByID(_ memdb.WatchSet, id string) (*structs.Allocation, error) {
	return s.allocs[id], nil
}

func (s *usageState) AllocsByNodeTerminal(_ memdb.WatchSet, nodeID string, terminal bool) ([]*structs.Allocation, error) {
	var out []*structs.Allocation
	for _, a := range s.allocs {
		if a.NodeID == nodeID && a.TerminalStatus() == terminal {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s *usageState) NodeAllocUsage(ws memdb.WatchSet, nodeID string) (*structs.NodeAllocUsage, error) {
	live, _ := s.AllocsByNodeTerminal(ws, nodeID, false)
	u := &structs.NodeAllocUsage{NodeID: nodeID}
	for _, a := range live {
		u.Add(a, 1)
	}
	return u, nil
}

func usageAlloc(id, node, job string, cpu int64, cores ...uint16) *structs.Allocation {
	return &structs.Allocation{
		ID: id, NodeID: node, JobID: job, Namespace: "default", TaskGroup: "g", CreateIndex: 1,
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
		AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.AllocatedTaskResources{
			"t": {Cpu: structs.AllocatedCpuResources{CpuShares: cpu, ReservedCores: cores}, Memory: structs.AllocatedMemoryResources{MemoryMB: cpu / 2}},
		}},
	}
}

// TestNodeUsageFromSumMatchesListing checks the usage built from the
// snapshot's per-node sum against adding up what it should count: the live
// allocations minus what the plan stops or replaces, plus what it places.
func TestNodeUsageFromSumMatchesListing(t *testing.T) {
	node := &structs.Node{ID: "n1", NodeResources: &structs.NodeResources{
		Cpu: structs.NodeCpuResources{CpuShares: 8000, ReservableCpuCores: []uint16{0, 1, 2, 3}}, Memory: structs.NodeMemoryResources{MemoryMB: 8192},
	}}
	dead := usageAlloc("a4", "n1", "web", 700)
	dead.ClientStatus = structs.AllocClientStatusFailed
	st := &usageState{allocs: map[string]*structs.Allocation{}}
	for _, a := range []*structs.Allocation{
		usageAlloc("a1", "n1", "web", 100), usageAlloc("a2", "n1", "web", 200, 1),
		usageAlloc("a3", "n1", "db", 300), dead, usageAlloc("b1", "n2", "web", 900),
	} {
		st.allocs[a.ID] = a
	}
	plan := &structs.Plan{}
	ctx := newEvalContext(st, plan, slog.New(slog.DiscardHandler), time.Unix(0, 0), &structs.Evaluation{ID: "e", JobID: "web", Namespace: "default"}, 0)
	ctx.jobAllocs = []*structs.Allocation{st.allocs["a1"], st.allocs["a2"], dead, st.allocs["b1"]}

	// Before the usage exists: a stop and an in-place update with more cpu.
	plan.AppendStoppedAlloc(st.allocs["a1"], "stop", "", "")
	bigger := usageAlloc("a2", "n1", "web", 250, 1)
	plan.AppendAlloc(bigger)
	u, err := ctx.nodeUsage(node)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*structs.Allocation{"a2": bigger, "a3": st.allocs["a3"]}
	checkUsage(t, "built", u, want, 1)

	// After: a new placement, stopping another job's allocation, and taking
	// the stop back.
	placed := usageAlloc("p1", "n1", "web", 50)
	placed.CreateIndex = 0
	ctx.place(placed, nil)
	want["p1"] = placed
	checkUsage(t, "placed", u, want, 2)
	ctx.stop(st.allocs["a3"], "stop", "")
	delete(want, "a3")
	checkUsage(t, "stopped", u, want, 2)
	ctx.unstop(st.allocs["a3"])
	want["a3"] = st.allocs["a3"]
	checkUsage(t, "unstopped", u, want, 2)
	ctx.stop(dead, "stop", "")
	checkUsage(t, "stopping a dead allocation", u, want, 2)
}

func checkUsage(t *testing.T, step string, u *nodeUsage, want map[string]*structs.Allocation, jobGroup int) {
	t.Helper()
	var sum structs.NodeAllocUsage
	for _, a := range want {
		sum.Add(a, 1)
	}
	if u.used != sum.Used {
		t.Errorf("%s: used %+v, want %+v", step, u.used, sum.Used)
	}
	if got := slices.Sorted(slices.Values(u.usedCores)); !slices.Equal(got, slices.Sorted(slices.Values(sum.Cores))) {
		t.Errorf("%s: cores %v, want %v", step, got, sum.Cores)
	}
	if u.jobGroups["g"] != jobGroup || u.jobTotal != jobGroup {
		t.Errorf("%s: job groups %v total %d, want %d", step, u.jobGroups, u.jobTotal, jobGroup)
	}
	var ids []string
	for _, a := range u.countedAllocs() {
		ids = append(ids, a.ID)
	}
	if got, w := slices.Sorted(slices.Values(ids)), slices.Sorted(maps.Keys(want)); !slices.Equal(got, w) {
		t.Errorf("%s: counted %v, want %v", step, got, w)
	}
}
