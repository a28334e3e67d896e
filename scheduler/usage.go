package scheduler

import (
	"slices"

	"github.com/roam-sh/roam/structs"
)

// nodeUsage is what a node has in use as this evaluation sees it: its
// non-terminal allocations in the snapshot, minus what the plan stops, plus
// what the plan places. It is built the first time a placement looks at the
// node and then kept in step with the plan, so placing N allocations costs
// O(N) node work rather than O(N × allocations on the node).
type nodeUsage struct {
	node     *structs.Node
	capacity structs.ComparableResources
	used     structs.ComparableResources
	allocs   []*structs.Allocation
	// cores held by allocations (and reserved by the client).
	usedCores []uint16
	// jobGroups counts the evaluated job's allocations per group on the node.
	jobGroups map[string]int
	jobTotal  int
	// net is built when a group with ports first looks at the node.
	net *netIndex
}

func newNodeUsage(node *structs.Node) *nodeUsage {
	u := &nodeUsage{node: node}
	if node.NodeResources != nil {
		u.capacity = node.NodeResources.Comparable(node.ReservedResources)
	}
	if node.ReservedResources != nil {
		u.usedCores = slices.Clone(node.ReservedResources.Cpu.ReservedCores)
	}
	return u
}

// add records an allocation on the node (delta 1) or removes it (-1).
// Removing an allocation the node does not hold is a no-op.
func (u *nodeUsage) add(a *structs.Allocation, job structs.NamespacedID, delta int) {
	c := a.AllocatedResources.Comparable()
	if delta < 0 {
		i := slices.IndexFunc(u.allocs, func(x *structs.Allocation) bool { return x.ID == a.ID })
		if i < 0 {
			return
		}
		a = u.allocs[i]
		c = negate(a.AllocatedResources.Comparable())
		u.allocs = slices.Delete(u.allocs, i, i+1)
	} else {
		u.allocs = append(u.allocs, a)
	}
	u.used.Add(c)
	u.addCores(a, delta)
	if a.JobID == job.ID && a.Namespace == job.Namespace {
		if u.jobGroups == nil {
			u.jobGroups = map[string]int{}
		}
		u.jobGroups[a.TaskGroup] += delta
		u.jobTotal += delta
	}
	if u.net != nil {
		u.net.addAlloc(a, delta)
	}
}

func (u *nodeUsage) addCores(a *structs.Allocation, delta int) {
	for _, t := range allocTasks(a) {
		for _, core := range t.Cpu.ReservedCores {
			if delta > 0 {
				u.usedCores = append(u.usedCores, core)
			} else if i := slices.Index(u.usedCores, core); i >= 0 {
				u.usedCores = slices.Delete(u.usedCores, i, i+1)
			}
		}
	}
}

func allocTasks(a *structs.Allocation) map[string]*structs.AllocatedTaskResources {
	if a.AllocatedResources == nil {
		return nil
	}
	return a.AllocatedResources.Tasks
}

func negate(c structs.ComparableResources) structs.ComparableResources {
	return structs.ComparableResources{
		CPUShares: -c.CPUShares, Cores: -c.Cores, MemoryMB: -c.MemoryMB,
		MemoryMaxMB: -c.MemoryMaxMB, DiskMB: -c.DiskMB,
	}
}

// netIndex returns the node's port index, building it on first use.
func (u *nodeUsage) netIndex() *netIndex {
	if u.net == nil {
		u.net = newNetIndex(u.node)
		for _, a := range u.allocs {
			u.net.addAlloc(a, 1)
		}
	}
	return u.net
}

// freeCores returns up to n reservable cores nobody holds, lowest first.
func (u *nodeUsage) freeCores(n int) []uint16 {
	if n == 0 || u.node.NodeResources == nil {
		return nil
	}
	var out []uint16
	for _, c := range u.node.NodeResources.Cpu.ReservableCpuCores {
		if !slices.Contains(u.usedCores, c) {
			out = append(out, c)
			if len(out) == n {
				break
			}
		}
	}
	return out
}

// freeCoreCount counts reservable cores nobody holds.
func (u *nodeUsage) freeCoreCount() int {
	if u.node.NodeResources == nil {
		return 0
	}
	n := 0
	for _, c := range u.node.NodeResources.Cpu.ReservableCpuCores {
		if !slices.Contains(u.usedCores, c) {
			n++
		}
	}
	return n
}
