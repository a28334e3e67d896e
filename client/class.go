package client

import (
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/structs"
)

// ComputeClass hashes what makes two nodes interchangeable for scheduling:
// datacenter, class, pool, attributes and meta (both without unique.* keys,
// which differ on every node by design), the usable drivers, and the names of
// the host volumes and host networks. Nodes with the same class pass or fail
// the same constraints, so the scheduler reuses feasibility results across
// them and blocked evaluations wait per class.
//
// The servers fill in the same hash for clients that send none
// (server/node_class.go); both must produce identical values, which
// TestComputeClassMatchesServerScheme pins down.
func ComputeClass(n *structs.Node) string {
	var parts []string
	add := func(k, v string) { parts = append(parts, k+"="+v) }
	add("dc", n.Datacenter)
	add("class", n.NodeClass)
	add("pool", n.NodePool)
	for k, v := range n.Attributes {
		if !strings.HasPrefix(k, "unique.") {
			add("attr."+k, v)
		}
	}
	for k, v := range n.Meta {
		if !strings.HasPrefix(k, "unique.") {
			add("meta."+k, v)
		}
	}
	for name, d := range n.Drivers {
		if d != nil && d.Detected && d.Healthy {
			add("driver", name)
		}
	}
	for name := range n.HostVolumes {
		add("volume", name)
	}
	for name := range n.HostNetworks {
		add("network", name)
	}
	slices.Sort(parts)
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "v1:" + strconv.FormatUint(h.Sum64(), 10)
}
