package scheduler

import (
	"fmt"
	"strconv"

	"github.com/roam-sh/roam/structs"
)

// Reasons a node is filtered, as users see them in placement failures.
const (
	reasonDrivers          = "missing drivers"
	reasonHostVolumes      = "missing compatible host volumes"
	reasonCSIPlugin        = "missing CSI plugin for volume %q"
	reasonNoTasks          = "group has no tasks (a connect gateway's task is not injected by this version of roam)"
	reasonNetwork          = "missing network"
	reasonDistinctHosts    = structs.ConstraintDistinctHosts
	reasonDistinctProperty = structs.ConstraintDistinctProperty
)

// nodeIter yields candidate nodes; reset starts a new placement.
type nodeIter interface {
	next() *structs.Node
	reset()
}

// nodeSource yields the evaluation's nodes round-robin: each placement
// continues where the previous one stopped and sees every node at most once,
// so successive placements spread their search over the cluster.
type nodeSource struct {
	st     *selectState
	nodes  []*structs.Node
	offset int
	seen   int
}

func (s *nodeSource) next() *structs.Node {
	if s.seen >= len(s.nodes) {
		return nil
	}
	if s.offset >= len(s.nodes) {
		s.offset = 0
	}
	n := s.nodes[s.offset]
	s.offset++
	s.seen++
	s.st.metric.NodesEvaluated++
	return n
}

func (s *nodeSource) reset() { s.seen = 0 }

func (s *nodeSource) setNodes(nodes []*structs.Node) {
	s.nodes, s.offset, s.seen = nodes, 0, 0
}

// feasibilityIter filters nodes on everything that depends only on the node
// and the job: constraints (cached per computed class), drivers, host volumes
// and networks.
type feasibilityIter struct {
	st     *selectState
	source nodeIter
}

func (it *feasibilityIter) reset() { it.source.reset() }

func (it *feasibilityIter) next() *structs.Node {
	for n := it.source.next(); n != nil; n = it.source.next() {
		if reason := it.st.feasible(n); reason != "" {
			it.st.filter(n, reason)
			continue
		}
		return n
	}
	return nil
}

// feasible returns why node cannot run the group, or "".
func (st *selectState) feasible(n *structs.Node) string {
	ask, elig := st.ask, st.ctx.elig
	if len(ask.tg.Tasks) == 0 {
		return reasonNoTasks
	}
	jobCheck := func() string { return st.ctx.operands.firstFailed(ask.jobConstraints, n) }
	if r := st.classCheck(elig.job, n.ComputedClass, ask.jobEscapes, jobCheck); r != "" {
		return r
	}
	if r := checkDrivers(ask, n); r != "" {
		return r
	}
	groupCheck := func() string { return st.ctx.operands.firstFailed(ask.constraints, n) }
	if r := st.classCheck(elig.group(ask.tg.Name), n.ComputedClass, ask.escapes, groupCheck); r != "" {
		return r
	}
	if r := checkHostVolumes(ask, n, st.allocIndex); r != "" {
		return r
	}
	if r := checkCSIVolumes(ask); r != "" {
		return r
	}
	return checkNetwork(ask, n)
}

// classCheck runs check once per computed class and reuses the verdict,
// unless the checks escape the class or the node has none.
func (st *selectState) classCheck(cache map[string]classVerdict, class string, escapes bool, check func() string) string {
	if escapes {
		st.ctx.elig.escaped = true
		return check()
	}
	if class == "" {
		return check()
	}
	if v := cache[class]; v.known {
		return v.reason
	}
	r := check()
	cache[class] = classVerdict{known: true, ok: r == "", reason: r}
	return r
}

// firstFailed returns the first constraint node does not meet, as text.
func (oc *operandChecker) firstFailed(cs []*structs.Constraint, n *structs.Node) string {
	for _, c := range cs {
		if !oc.meets(c.Operand, c.LTarget, c.RTarget, n) {
			return c.String()
		}
	}
	return ""
}

// checkDrivers requires every task driver to be detected and healthy, or,
// for nodes that only report attributes, driver.<name> to be true.
func checkDrivers(ask *groupAsk, n *structs.Node) string {
	for _, d := range ask.drivers {
		if info, ok := n.Drivers[d]; ok {
			if !info.Detected || !info.Healthy {
				return reasonDrivers
			}
			continue
		}
		if v, err := strconv.ParseBool(n.Attributes[structs.AttrDriver(d)]); err != nil || !v {
			return reasonDrivers
		}
	}
	return ""
}

// checkHostVolumes requires each host volume on the node, writable unless
// the group mounts it read-only.
func checkHostVolumes(ask *groupAsk, n *structs.Node, idx uint) string {
	for _, v := range ask.volumes {
		hv, ok := n.HostVolumes[v.SourceFor(idx)]
		if !ok || hv == nil || (hv.ReadOnly && !v.ReadOnly) {
			return reasonHostVolumes
		}
	}
	return ""
}

// checkCSIVolumes filters every node for a group that asks for a CSI
// volume: a node needs the volume's CSI plugin, and roam's clients run none
// (Job.Warnings says so at submission). The failure names the volume.
func checkCSIVolumes(ask *groupAsk) string {
	if len(ask.csiVolumes) == 0 {
		return ""
	}
	return fmt.Sprintf(reasonCSIPlugin, ask.csiVolumes[0].Source)
}

// checkNetwork requires the group's network mode on the node ("none" needs
// nothing) and every non-default host network its ports name.
func checkNetwork(ask *groupAsk, n *structs.Node) string {
	if ask.mode == structs.NetworkModeNone || ask.network == nil {
		return ""
	}
	if !hasNetworkMode(n, ask.mode) {
		if why := n.Attributes[structs.AttrBridgeUnavailable]; ask.mode == structs.NetworkModeBridge && why != "" {
			return reasonNetwork + ": bridge unavailable: " + why
		}
		if why := n.Attributes[structs.AttrCNIUnavailablePrefix+ask.mode.CNIName()]; ask.mode.IsCNI() && why != "" {
			return reasonNetwork + ": " + string(ask.mode) + " unavailable: " + why
		}
		return reasonNetwork
	}
	for _, ports := range [][]structs.Port{ask.staticPorts, ask.dynPorts} {
		for _, p := range ports {
			if r := checkHostNetwork(p, n); r != "" {
				return r
			}
		}
	}
	return ""
}

func hasNetworkMode(n *structs.Node, mode structs.NetworkMode) bool {
	if n.NodeResources == nil {
		return false
	}
	for _, nw := range n.NodeResources.Networks {
		m := nw.Mode
		if m == "" {
			m = structs.NetworkModeHost
		}
		if m == mode {
			return true
		}
	}
	return false
}

// checkHostNetwork resolves a port's host_network (it may read the node, as
// in ${meta.public_net}) and requires an address with that alias. The default
// network is left to port assignment, which falls back to the node's IP.
func checkHostNetwork(p structs.Port, n *structs.Node) string {
	name := hostNetworkOf(p)
	if name == structs.DefaultHostNetwork {
		return ""
	}
	resolved, ok := resolveTarget(name, n)
	if !ok {
		return fmt.Sprintf("invalid host network %q template for port %q", name, p.Label)
	}
	if resolved == structs.DefaultHostNetwork || hasHostNetwork(n, resolved) {
		return ""
	}
	return fmt.Sprintf("missing host network %q for port %q", resolved, p.Label)
}

func hasHostNetwork(n *structs.Node, alias string) bool {
	if n.NodeResources == nil {
		return false
	}
	for _, nn := range n.NodeResources.NodeNetworks {
		for _, a := range nn.Addresses {
			if a.Alias == alias {
				return true
			}
		}
	}
	return false
}

// distinctHostsIter drops nodes that already run the job (job-level
// distinct_hosts) or the group (group-level) in the plan as it stands.
type distinctHostsIter struct {
	st     *selectState
	source nodeIter
}

func (it *distinctHostsIter) reset() { it.source.reset() }

func (it *distinctHostsIter) next() *structs.Node {
	ask := it.st.ask
	for n := it.source.next(); n != nil; n = it.source.next() {
		if !ask.distinctHostsJob && !ask.distinctHostsGroup {
			return n
		}
		u, err := it.st.ctx.nodeUsage(n)
		if err != nil {
			it.st.fail(err)
			return nil
		}
		if (ask.distinctHostsJob && u.jobTotal > 0) || (ask.distinctHostsGroup && u.jobGroups[ask.tg.Name] > 0) {
			it.st.filter(n, reasonDistinctHosts)
			continue
		}
		return n
	}
	return nil
}

// distinctPropertyIter drops nodes whose value of a distinct_property
// attribute already has its allowed number of allocations.
type distinctPropertyIter struct {
	st     *selectState
	source nodeIter
}

func (it *distinctPropertyIter) reset() { it.source.reset() }

func (it *distinctPropertyIter) next() *structs.Node {
	for n := it.source.next(); n != nil; n = it.source.next() {
		if it.satisfied(n) {
			return n
		}
		it.st.filter(n, reasonDistinctProperty)
	}
	return nil
}

func (it *distinctPropertyIter) satisfied(n *structs.Node) bool {
	for _, dp := range it.st.ask.distinctProps {
		v, ok := resolveTarget(dp.property, n)
		if !ok {
			return false
		}
		group := ""
		if dp.groupLevel {
			group = it.st.ask.tg.Name
		}
		pc, err := it.st.ctx.propertyCounts(dp.property, group)
		if err != nil {
			it.st.fail(err)
			return false
		}
		if pc.counts[v] >= dp.limit {
			return false
		}
	}
	return true
}
