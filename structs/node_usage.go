package structs

import "slices"

// NodeAllocUsage sums what a node's live (non-terminal) allocations hold.
// The state store keeps one per node in step with every allocation write,
// so the scheduler reads one object per candidate node instead of adding up
// every allocation on it, once per evaluation.
type NodeAllocUsage struct {
	NodeID string
	// Used adds up AllocatedResources.Comparable of the live allocations.
	Used ComparableResources
	// Cores lists the reserved cores they hold; a core held twice (which the
	// plan applier never lets happen) would appear twice.
	Cores []uint16
	// Live counts the live allocations.
	Live int
}

// Add adds (delta 1) or subtracts (-1) an allocation's resources and cores.
// It does not look at the allocation's status: callers add live ones.
func (u *NodeAllocUsage) Add(a *Allocation, delta int) {
	u.Live += delta
	ar := a.AllocatedResources
	if ar == nil {
		return
	}
	d := int64(delta)
	for _, t := range ar.Tasks {
		u.Used.CPUShares += d * t.Cpu.CpuShares
		u.Used.MemoryMB += d * t.Memory.MemoryMB
		u.Used.MemoryMaxMB += d * max(t.Memory.MemoryMaxMB, t.Memory.MemoryMB)
		u.Used.Cores += delta * len(t.Cpu.ReservedCores)
		for _, core := range t.Cpu.ReservedCores {
			if delta > 0 {
				u.Cores = append(u.Cores, core)
			} else if i := slices.Index(u.Cores, core); i >= 0 {
				u.Cores = slices.Delete(u.Cores, i, i+1)
			}
		}
	}
	u.Used.DiskMB += d * ar.Shared.DiskMB
}

// Copy returns a copy that shares nothing with u.
func (u *NodeAllocUsage) Copy() *NodeAllocUsage {
	c := *u
	c.Cores = slices.Clone(u.Cores)
	return &c
}
