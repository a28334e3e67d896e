package scheduler

import (
	"fmt"
	"slices"

	"github.com/roam-sh/roam/structs"
)

// AllocsFit reports whether allocs, all on node, fit it together: their
// resources within what the node offers after its reservations, no reserved
// core held twice, and no host port held twice on one address or inside a
// range the client reserved. Terminal allocations are ignored. When they do
// not fit, the second result names the exhausted dimension.
//
// The server's plan applier calls it to re-check a plan against the latest
// state; it uses the same accounting (nodeUsage, netIndex) as placement.
func AllocsFit(node *structs.Node, allocs []*structs.Allocation) (bool, string) {
	if node.NodeResources == nil {
		return false, "node has no resources"
	}
	u := newNodeUsage(node)
	live := make([]*structs.Allocation, 0, len(allocs))
	for _, a := range allocs {
		if !a.TerminalStatus() {
			live = append(live, a)
			u.addResources(a, 1)
		}
	}
	if ok, dim := u.capacity.Superset(u.used); !ok {
		return false, dim + " exhausted"
	}
	if core, dup := firstDuplicateCore(u.usedCores); dup {
		return false, fmt.Sprintf("cores exhausted: core %d held twice", core)
	}
	ni := newNetIndex(node)
	for _, a := range live {
		ni.addAlloc(a, 1)
	}
	if reason := portCollision(ni, sharedPorts(live)); reason != "" {
		return false, reason
	}
	return true, ""
}

func firstDuplicateCore(cores []uint16) (uint16, bool) {
	sorted := slices.Clone(cores)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return sorted[i], true
		}
	}
	return 0, false
}

// sharedPorts returns the static ports some allocation marked
// ignore_collision: they may be held more than once.
func sharedPorts(allocs []*structs.Allocation) map[int]bool {
	out := map[int]bool{}
	for _, a := range allocs {
		ar := a.AllocatedResources
		if ar == nil {
			continue
		}
		nets := ar.Shared.Networks
		for _, t := range ar.Tasks {
			nets = append(nets[:len(nets):len(nets)], t.Networks...)
		}
		for _, n := range nets {
			for _, p := range n.ReservedPorts {
				if p.IgnoreCollision {
					out[p.Value] = true
				}
			}
		}
	}
	return out
}

// portCollision describes the first port held twice or inside a reserved
// range, or returns "".
func portCollision(ni *netIndex, shared map[int]bool) string {
	for _, ap := range ni.addrs {
		reason := ""
		ap.used.each(func(port, n int) {
			switch {
			case reason != "" || shared[port]:
			case n > 1:
				reason = fmt.Sprintf("network: port %d already in use on %s", port, ap.ip)
			case ni.reservedEnd(ap, port) != 0:
				reason = fmt.Sprintf("network: port %d is reserved on %s", port, ap.ip)
			}
		})
		if reason != "" {
			return reason
		}
	}
	return ""
}
