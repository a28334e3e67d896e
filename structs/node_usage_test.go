package structs

import (
	"slices"
	"testing"
)

func TestNodeAllocUsageMatchesComparable(t *testing.T) {
	a := &Allocation{AllocatedResources: &AllocatedResources{
		Tasks: map[string]*AllocatedTaskResources{
			"web":  {Cpu: AllocatedCpuResources{CpuShares: 500}, Memory: AllocatedMemoryResources{MemoryMB: 256, MemoryMaxMB: 512}},
			"pinn": {Cpu: AllocatedCpuResources{CpuShares: 2000, ReservedCores: []uint16{2, 3}}, Memory: AllocatedMemoryResources{MemoryMB: 128}},
		},
		Shared: AllocatedSharedResources{DiskMB: 300},
	}}
	var u NodeAllocUsage
	u.Add(a, 1)
	u.Add(a, 1)
	want := a.AllocatedResources.Comparable()
	want.Add(a.AllocatedResources.Comparable())
	if u.Used != want || u.Live != 2 {
		t.Fatalf("two allocations: %+v live %d, want %+v", u.Used, u.Live, want)
	}
	if c := slices.Sorted(slices.Values(u.Cores)); !slices.Equal(c, []uint16{2, 2, 3, 3}) {
		t.Fatalf("cores: %v", c)
	}
	c := u.Copy()
	u.Add(a, -1)
	u.Add(a, -1)
	if u.Used != (ComparableResources{}) || u.Live != 0 || len(u.Cores) != 0 {
		t.Fatalf("after removing both: %+v live %d cores %v", u.Used, u.Live, u.Cores)
	}
	if c.Live != 2 || len(c.Cores) != 4 {
		t.Fatalf("the copy changed with the original: %+v", c)
	}
}
