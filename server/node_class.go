package server

import (
	"hash/fnv"
	"sort"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/structs"
)

// computeNodeClass hashes what makes nodes interchangeable for feasibility:
// datacenter, class, pool, non-unique attributes and meta, usable drivers,
// host volumes and host networks. Nodes with equal classes pass or fail the
// same constraints, which lets blocked evaluations wait per class. Clients
// normally send a computed class; this fills it in when they do not.
func computeNodeClass(n *structs.Node) string {
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
	sort.Strings(parts)
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "v1:" + strconv.FormatUint(h.Sum64(), 10)
}
