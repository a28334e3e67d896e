package structs

// Resources is what a task asks for.
type Resources struct {
	CPU         int
	Cores       int
	MemoryMB    int
	MemoryMaxMB int
	DiskMB      int
	IOPS        int
	Networks    []*NetworkResource
	Devices     []*RequestedDevice
}

// Defaults applied to tasks without explicit resources.
const (
	DefaultCPU      = 100
	DefaultMemoryMB = 300
	MinMemoryMB     = 10
)

// DefaultResources is used for a task without a resources block.
func DefaultResources() *Resources { return &Resources{CPU: DefaultCPU, MemoryMB: DefaultMemoryMB} }

// RequestedDevice asks for device instances (accepted and validated, not scheduled).
type RequestedDevice struct {
	Name        string
	Count       uint64
	Constraints []*Constraint
	Affinities  []*Affinity
}

// AllocatedResources is what the scheduler granted an allocation.
type AllocatedResources struct {
	Tasks          map[string]*AllocatedTaskResources
	TaskLifecycles map[string]*TaskLifecycleConfig
	Shared         AllocatedSharedResources
}

// AllocatedTaskResources is one task's share of an allocation.
type AllocatedTaskResources struct {
	Cpu      AllocatedCpuResources
	Memory   AllocatedMemoryResources
	Networks []*NetworkResource
}

// AllocatedSharedResources are shared by all tasks of an allocation.
type AllocatedSharedResources struct {
	DiskMB   int64
	Networks []*NetworkResource
	Ports    AllocatedPorts
}

// AllocatedCpuResources is CPU granted to a task: shares in MHz and, for
// `cores`, the exact cores reserved.
type AllocatedCpuResources struct {
	CpuShares     int64
	ReservedCores []uint16
}

// AllocatedMemoryResources is memory granted to a task.
type AllocatedMemoryResources struct {
	MemoryMB    int64
	MemoryMaxMB int64
}

// Comparable sums an allocation's resources for fit checks.
func (a *AllocatedResources) Comparable() ComparableResources {
	var c ComparableResources
	if a == nil {
		return c
	}
	for name, t := range a.Tasks {
		// Prestart tasks that are not sidecars finish before the main tasks start,
		// but the node must still hold room for them while they run; like Nomad we
		// count every task, which errs on the safe side.
		_ = name
		c.CPUShares += t.Cpu.CpuShares
		c.Cores += len(t.Cpu.ReservedCores)
		c.MemoryMB += t.Memory.MemoryMB
		c.MemoryMaxMB += max(t.Memory.MemoryMaxMB, t.Memory.MemoryMB)
	}
	c.DiskMB = a.Shared.DiskMB
	return c
}

// ComparableResources is a flattened view used when checking that allocations fit.
type ComparableResources struct {
	CPUShares   int64
	Cores       int
	MemoryMB    int64
	MemoryMaxMB int64
	DiskMB      int64
}

// Add adds o to c.
func (c *ComparableResources) Add(o ComparableResources) {
	c.CPUShares += o.CPUShares
	c.Cores += o.Cores
	c.MemoryMB += o.MemoryMB
	c.MemoryMaxMB += o.MemoryMaxMB
	c.DiskMB += o.DiskMB
}

// Superset reports whether c can hold o, and if not which dimension ran out.
func (c ComparableResources) Superset(o ComparableResources) (bool, string) {
	switch {
	case c.CPUShares < o.CPUShares:
		return false, "cpu"
	case c.Cores < o.Cores:
		return false, "cores"
	case c.MemoryMB < o.MemoryMB:
		return false, "memory"
	case c.DiskMB < o.DiskMB:
		return false, "disk"
	}
	return true, ""
}

// NodeResources is what a client fingerprinted.
type NodeResources struct {
	Cpu            NodeCpuResources
	Memory         NodeMemoryResources
	Disk           NodeDiskResources
	Networks       []*NetworkResource
	NodeNetworks   []*NodeNetworkResource
	MinDynamicPort int
	MaxDynamicPort int
}

// NodeCpuResources describes a node's CPU.
type NodeCpuResources struct {
	CpuShares          int64
	TotalCpuCores      uint16
	ReservableCpuCores []uint16
}

// NodeMemoryResources describes a node's memory.
type NodeMemoryResources struct {
	MemoryMB int64
}

// NodeDiskResources describes a node's allocation-directory disk.
type NodeDiskResources struct {
	DiskMB int64
}

// NodeReservedResources is held back from scheduling on a node.
type NodeReservedResources struct {
	Cpu      NodeReservedCpuResources
	Memory   NodeReservedMemoryResources
	Disk     NodeReservedDiskResources
	Networks NodeReservedNetworkResources
}

// NodeReservedCpuResources is CPU held back.
type NodeReservedCpuResources struct {
	CpuShares     uint64
	ReservedCores []uint16
}

// NodeReservedMemoryResources is memory held back.
type NodeReservedMemoryResources struct{ MemoryMB uint64 }

// NodeReservedDiskResources is disk held back.
type NodeReservedDiskResources struct{ DiskMB uint64 }

// NodeReservedNetworkResources lists host ports never handed out ("22,80,8000-8100").
type NodeReservedNetworkResources struct{ ReservedHostPorts string }

// Comparable returns what the node offers for scheduling after reservations.
func (n *NodeResources) Comparable(r *NodeReservedResources) ComparableResources {
	c := ComparableResources{
		CPUShares:   n.Cpu.CpuShares,
		Cores:       len(n.Cpu.ReservableCpuCores),
		MemoryMB:    n.Memory.MemoryMB,
		MemoryMaxMB: n.Memory.MemoryMB,
		DiskMB:      n.Disk.DiskMB,
	}
	if r != nil {
		c.CPUShares -= int64(r.Cpu.CpuShares)
		c.Cores -= len(r.Cpu.ReservedCores)
		c.MemoryMB -= int64(r.Memory.MemoryMB)
		c.MemoryMaxMB -= int64(r.Memory.MemoryMB)
		c.DiskMB -= int64(r.Disk.DiskMB)
	}
	return c
}
