package server

import (
	"testing"
	"time"

	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

func TestDrainPlanOrdersJobTypes(t *testing.T) {
	st, err := state.NewStateStore()
	must(t, err)
	s := &Server{state: st}
	node := schedtest.MockNode()
	must(t, st.UpsertNode(1, node))
	service, batch, system := schedtest.MockJob(), schedtest.MockBatchJob(), schedtest.MockSystemJob()
	svcAlloc := schedtest.MockAlloc(service, node, 0)
	batchAlloc := schedtest.MockAlloc(batch, node, 0)
	sysAlloc := schedtest.MockAlloc(system, node, 0)
	must(t, st.UpsertAllocs(2, []*structs.Allocation{svcAlloc, batchAlloc, sysAlloc}))

	now := time.Now()
	node.DrainStrategy = startDrain(structs.DrainSpec{Deadline: time.Hour}, now)
	ids := func(allocs []*structs.Allocation) map[string]bool {
		out := map[string]bool{}
		for _, a := range allocs {
			out[a.ID] = true
		}
		return out
	}

	// Before the deadline: service allocations move, batch ones may finish,
	// system ones wait until the rest is gone.
	migrate, done, err := s.drainPlan(node, now)
	must(t, err)
	if got := ids(migrate); len(got) != 1 || !got[svcAlloc.ID] || done {
		t.Fatalf("before deadline: migrate %v done %v", got, done)
	}
	// Past the deadline everything is forced off.
	migrate, _, err = s.drainPlan(node, now.Add(2*time.Hour))
	must(t, err)
	if got := ids(migrate); len(got) != 3 {
		t.Fatalf("after deadline: migrate %v", got)
	}
	// Ignoring system jobs: the system allocation stays and does not hold the
	// drain open.
	node.DrainStrategy.IgnoreSystemJobs = true
	must(t, st.UpsertAllocs(3, []*structs.Allocation{stoppedCopy(svcAlloc), stoppedCopy(batchAlloc)}))
	migrate, done, err = s.drainPlan(node, now)
	must(t, err)
	if len(migrate) != 0 || !done {
		t.Fatalf("ignoring system jobs: migrate %d done %v", len(migrate), done)
	}
	node.DrainStrategy.IgnoreSystemJobs = false
	migrate, done, err = s.drainPlan(node, now)
	must(t, err)
	if got := ids(migrate); len(got) != 1 || !got[sysAlloc.ID] || done {
		t.Fatalf("system jobs last: migrate %v done %v", got, done)
	}
}

func stoppedCopy(a *structs.Allocation) *structs.Allocation {
	c := a.Copy()
	c.DesiredStatus = structs.AllocDesiredStatusStop
	return c
}

func TestStartDrainDeadlines(t *testing.T) {
	now := time.Now()
	if ds := startDrain(structs.DrainSpec{Deadline: -1}, now); !ds.ForceDeadline.Equal(now) {
		t.Fatalf("negative deadline forces now: %v", ds.ForceDeadline)
	}
	if ds := startDrain(structs.DrainSpec{}, now); !ds.ForceDeadline.IsZero() {
		t.Fatalf("zero deadline means none: %v", ds.ForceDeadline)
	}
	if ds := startDrain(structs.DrainSpec{Deadline: time.Minute}, now); !ds.ForceDeadline.Equal(now.Add(time.Minute)) {
		t.Fatalf("deadline: %v", ds.ForceDeadline)
	}
}
