package scheduler_test

import (
	"strings"
	"testing"

	"github.com/roam-sh/roam/scheduler"
	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/structs"
)

func withPort(a *structs.Allocation, ip string, port int) *structs.Allocation {
	a.AllocatedResources.Shared.Ports = structs.AllocatedPorts{{Label: "http", Value: port, HostIP: ip}}
	return a
}

func TestAllocsFit(t *testing.T) {
	node := schedtest.MockNode()
	job := schedtest.MockJob()
	ip := node.NodeResources.NodeNetworks[0].Addresses[0].Address

	var allocs []*structs.Allocation
	for i := range 7 { // 7 × 500 MHz of the 3900 offered
		allocs = append(allocs, schedtest.MockAlloc(job, node, uint(i)))
	}
	if ok, why := scheduler.AllocsFit(node, allocs); !ok {
		t.Fatalf("7 allocations should fit: %s", why)
	}
	if ok, why := scheduler.AllocsFit(node, append(allocs, schedtest.MockAlloc(job, node, 7))); ok || why != "cpu exhausted" {
		t.Fatalf("8 allocations: ok=%v %q", ok, why)
	}
	stopped := schedtest.MockAlloc(job, node, 7)
	stopped.DesiredStatus = structs.AllocDesiredStatusStop
	if ok, why := scheduler.AllocsFit(node, append(allocs, stopped)); !ok {
		t.Fatalf("a stopped allocation must not count: %s", why)
	}

	a, b := withPort(schedtest.MockAlloc(job, node, 0), ip, 25000), withPort(schedtest.MockAlloc(job, node, 1), ip, 25000)
	if ok, why := scheduler.AllocsFit(node, []*structs.Allocation{a, b}); ok || !strings.Contains(why, "port 25000") {
		t.Fatalf("port collision: ok=%v %q", ok, why)
	}
	b = withPort(schedtest.MockAlloc(job, node, 1), ip, 25001)
	if ok, why := scheduler.AllocsFit(node, []*structs.Allocation{a, b}); !ok {
		t.Fatalf("distinct ports: %s", why)
	}
}
