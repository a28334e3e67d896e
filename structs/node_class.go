package structs

import (
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
)

// perNodeAttributes differ on every node although their names lack the
// "unique." prefix (they keep Nomad's names for jobs that constrain on them);
// hashing them would give every node its own class.
var perNodeAttributes = map[string]bool{
	AttrNomadAdvertiseAddr: true,
}

// ComputeClass hashes what makes two nodes interchangeable for scheduling:
// datacenter, class, pool, attributes and meta (both without unique.* keys,
// which differ on every node by design), the usable drivers, the names of the
// host volumes and host networks, and the network modes the node offers.
// Nodes with the same class pass or fail the same class-level checks, so the
// scheduler reuses feasibility results across them and blocked evaluations
// wait per class. Clients compute it; servers fill it in when a node has none.
func (n *Node) ComputeClass() string {
	var parts []string
	add := func(k, v string) { parts = append(parts, k+"="+v) }
	add("dc", n.Datacenter)
	add("class", n.NodeClass)
	add("pool", n.NodePool)
	for k, v := range n.Attributes {
		if !strings.HasPrefix(k, "unique.") && !perNodeAttributes[k] {
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
	for name, v := range n.HostVolumes {
		add("volume", name+":"+strconv.FormatBool(v != nil && v.ReadOnly))
	}
	for name := range n.HostNetworks {
		add("network", name)
	}
	if n.NodeResources != nil {
		for _, nw := range n.NodeResources.Networks {
			if nw != nil && nw.Mode != NetworkModeHost {
				add("netmode", string(nw.Mode))
			}
		}
	}
	slices.Sort(parts)
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "v1:" + strconv.FormatUint(h.Sum64(), 10)
}
