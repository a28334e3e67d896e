package httpapi

import "github.com/roam-sh/roam/structs"

// allocView is an allocation as Nomad's API shows it: beside the allocated
// resources, the legacy Resources (the allocation's total), TaskResources
// (per task) and SharedResources (the group's disk and networks) that Nomad
// still sends and its CLI reads (`node status` adds up Resources of every
// running allocation and dereferences each field; `alloc status` prints
// TaskResources). They are derived here, at the edge, from
// AllocatedResources, so nothing else stores them twice.
type allocView struct {
	*structs.Allocation
	Resources       *structs.Resources
	TaskResources   map[string]*structs.Resources
	SharedResources *structs.Resources
}

// viewAlloc adds the legacy resource fields to a.
func viewAlloc(a *structs.Allocation) *allocView {
	if a == nil {
		return nil
	}
	v := &allocView{
		Allocation: a, Resources: &structs.Resources{},
		TaskResources: map[string]*structs.Resources{}, SharedResources: &structs.Resources{},
	}
	ar := a.AllocatedResources
	if ar == nil {
		return v
	}
	v.SharedResources.DiskMB = int(ar.Shared.DiskMB)
	v.SharedResources.Networks = ar.Shared.Networks
	v.Resources.DiskMB = v.SharedResources.DiskMB
	v.Resources.Networks = ar.Shared.Networks
	for name, t := range ar.Tasks {
		if t == nil {
			continue
		}
		tr := &structs.Resources{
			CPU: int(t.Cpu.CpuShares), Cores: len(t.Cpu.ReservedCores),
			MemoryMB: int(t.Memory.MemoryMB), MemoryMaxMB: int(t.Memory.MemoryMaxMB),
			Networks: t.Networks,
		}
		v.TaskResources[name] = tr
		v.Resources.CPU += tr.CPU
		v.Resources.Cores += tr.Cores
		v.Resources.MemoryMB += tr.MemoryMB
		v.Resources.MemoryMaxMB += tr.MemoryMaxMB
	}
	return v
}

// viewAllocs applies viewAlloc to a list (never null).
func viewAllocs(list []*structs.Allocation) []*allocView {
	out := make([]*allocView, 0, len(list))
	for _, a := range list {
		out = append(out, viewAlloc(a))
	}
	return out
}
