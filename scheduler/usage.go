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
//
// Built by evalContext.nodeUsage, it starts from the snapshot's per-node sum
// (State.NodeAllocUsage) rather than from the node's allocations, which an
// evaluation placing a hundred allocations would otherwise list and add up
// on a thousand nodes. Which allocations it counts is then the snapshot's
// live allocations on the node (the baseline), overridden per ID by held;
// the full list is only read when a port index needs it.
type nodeUsage struct {
	node     *structs.Node
	capacity structs.ComparableResources
	used     structs.ComparableResources
	// cores held by allocations (and reserved by the client).
	usedCores []uint16
	// jobGroups counts the evaluated job's allocations per group on the node.
	jobGroups map[string]int
	jobTotal  int
	// net is built when a group with ports first looks at the node.
	net *netIndex

	// snap holds the baseline; nil when the usage starts empty (AllocsFit).
	snap State
	// held overrides the baseline: the version of an allocation the usage
	// counts, or nil for one it does not count (stopped, replaced).
	held map[string]*structs.Allocation
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

// baseline returns the snapshot's version of an allocation if it is live on
// the node, else nil. An allocation this evaluation created (no CreateIndex
// yet) cannot be in the snapshot.
func (u *nodeUsage) baseline(a *structs.Allocation) *structs.Allocation {
	if u.snap == nil || a.CreateIndex == 0 {
		return nil
	}
	s, err := u.snap.AllocByID(nil, a.ID)
	if err != nil || s == nil || s.NodeID != u.node.ID || s.TerminalStatus() {
		return nil
	}
	return s
}

// counted returns the version of an allocation the usage counts, or nil.
func (u *nodeUsage) counted(a *structs.Allocation) *structs.Allocation {
	if c, ok := u.held[a.ID]; ok {
		return c
	}
	return u.baseline(a)
}

// add records an allocation on the node (delta 1) or removes it (-1).
// Removing an allocation the node does not hold is a no-op; adding one
// replaces the version counted so far.
func (u *nodeUsage) add(a *structs.Allocation, job structs.NamespacedID, delta int) {
	if cur := u.counted(a); cur != nil {
		u.count(cur, job, -1)
	} else if delta < 0 {
		return
	}
	if u.held == nil {
		u.held = map[string]*structs.Allocation{}
	}
	if delta < 0 {
		u.held[a.ID] = nil
		return
	}
	u.held[a.ID] = a
	u.count(a, job, 1)
}

// count adds or subtracts one counted allocation everywhere it shows.
func (u *nodeUsage) count(a *structs.Allocation, job structs.NamespacedID, delta int) {
	u.addResources(a, delta)
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

// addResources adds (delta 1) or subtracts (-1) what the allocation holds:
// its resources, as AllocatedResources.Comparable sums them, and its
// reserved cores. It is the same accounting as the store's per-node sum.
func (u *nodeUsage) addResources(a *structs.Allocation, delta int) {
	sum := structs.NodeAllocUsage{Used: u.used, Cores: u.usedCores}
	sum.Add(a, delta)
	u.used, u.usedCores = sum.Used, sum.Cores
}

// netIndex returns the node's port index, building it on first use from
// every allocation the usage counts.
func (u *nodeUsage) netIndex() *netIndex {
	if u.net == nil {
		u.net = newNetIndex(u.node)
		for _, a := range u.countedAllocs() {
			u.net.addAlloc(a, 1)
		}
		for _, a := range u.drainingAllocs() {
			u.net.addDraining(a)
		}
	}
	return u.net
}

// drainingAllocs are allocations told to stop (in the snapshot or by this
// plan) whose client has not finished them: their tasks may still hold
// their ports, so no dynamic port is picked among them.
func (u *nodeUsage) drainingAllocs() []*structs.Allocation {
	if u.snap == nil {
		return nil
	}
	var out []*structs.Allocation
	stopped, _ := u.snap.AllocsByNodeTerminal(nil, u.node.ID, true)
	for _, a := range stopped {
		if !a.ClientTerminalStatus() {
			out = append(out, a)
		}
	}
	for id, a := range u.held {
		if a != nil {
			continue
		}
		if s, err := u.snap.AllocByID(nil, id); err == nil && s != nil && s.NodeID == u.node.ID && !s.ClientTerminalStatus() {
			out = append(out, s)
		}
	}
	return out
}

// countedAllocs lists every allocation the usage counts: the baseline's
// not overridden, then the overrides.
func (u *nodeUsage) countedAllocs() []*structs.Allocation {
	var out []*structs.Allocation
	if u.snap != nil {
		live, _ := u.snap.AllocsByNodeTerminal(nil, u.node.ID, false)
		for _, a := range live {
			if _, ok := u.held[a.ID]; !ok {
				out = append(out, a)
			}
		}
	}
	for _, a := range u.held {
		if a != nil {
			out = append(out, a)
		}
	}
	return out
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
