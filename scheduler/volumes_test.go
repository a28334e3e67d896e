package scheduler_test

import (
	"fmt"
	"testing"

	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/structs"
)

// TestPerAllocHostVolumesPlaceEachAllocationWithItsVolume: with per_alloc,
// allocation N of a group asking for host volume "data" needs "data[N]".
// Four nodes: one with data[0], one with data[1], one with plain "data",
// one with both indexed volumes but read-only. Each allocation lands on
// the only node that holds its own volume writable, and a third allocation
// (data[2] exists nowhere) is not placed, the failure saying why.
func TestPerAllocHostVolumesPlaceEachAllocationWithItsVolume(t *testing.T) {
	e := newEnv(t)
	vol := func(names ...string) func(*structs.Node) {
		return func(n *structs.Node) {
			n.HostVolumes = map[string]*structs.ClientHostVolumeConfig{}
			for _, name := range names {
				n.HostVolumes[name] = &structs.ClientHostVolumeConfig{Name: name, Path: "/srv/" + name}
			}
		}
	}
	has0 := e.nodes(1, vol("data[0]"))[0]
	has1 := e.nodes(1, vol("data[1]"))[0]
	e.nodes(1, vol("data"))
	e.nodes(1, func(n *structs.Node) {
		n.HostVolumes = map[string]*structs.ClientHostVolumeConfig{
			"data[0]": {Name: "data[0]", Path: "/ro/0", ReadOnly: true}, "data[1]": {Name: "data[1]", Path: "/ro/1", ReadOnly: true},
		}
	})
	job := schedtest.MockJob()
	tg := job.TaskGroups[0]
	tg.Count = 3
	tg.Volumes = map[string]*structs.VolumeRequest{"data": {Name: "data", Type: "host", Source: "data", PerAlloc: true}}
	job, eval := e.register(job)

	want := map[uint]string{0: has0.ID, 1: has1.ID}
	live := e.live(job)
	if len(live) != 2 {
		t.Fatalf("%d allocations placed, want 2 (data[2] exists nowhere)", len(live))
	}
	for _, a := range live {
		if a.NodeID != want[a.Index()] {
			t.Errorf("%s placed on %s, want the node with data[%d] (%s)", a.Name, a.NodeID, a.Index(), want[a.Index()])
		}
	}
	m := eval.FailedTGAllocs[tg.Name]
	if m == nil || m.ConstraintFiltered["missing compatible host volumes"] != 4 {
		t.Fatalf("failure of the third allocation: %s", fmt.Sprint(m))
	}
}
