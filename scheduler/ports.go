package scheduler

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/structs"
)

// dynamicPortTries is how many random picks precede the ordered scan when
// choosing a dynamic port.
const dynamicPortTries = 20

// netIndex tracks the host ports in use on one node, per host IP address, so
// the same port may be used on two addresses. It is built once per evaluation
// for the nodes a group with ports is considered for, and kept in step with
// the plan. Nodes have few addresses and few ports in use, so it is made of
// small slices rather than maps.
type netIndex struct {
	addrs []*addrPorts
	// store backs the addresses known when the index was built.
	store []addrPorts
	// aliases maps host network names to their addresses, in node order.
	aliases []hostNetwork
	// global ports are reserved on every address.
	global         []portRange
	minDyn, maxDyn int
}

type hostNetwork struct {
	name  string
	addrs []*addrPorts
}

// addrPorts is one address: port ranges its host network keeps back, and
// ports held by allocations.
type addrPorts struct {
	ip       string
	reserved []portRange
	used     portCounts
	// draining ports are held by allocations that are stopping: static
	// asks may take them (a replacement waits for its predecessor), dynamic
	// picks avoid them.
	draining portCounts
}

type portRange struct{ lo, hi int }

// portCounts is a multiset of ports (ignore_collision ports may be held
// twice): a slice while small, a map once large.
type portCounts struct {
	small []int
	big   map[int]int
}

const portCountsSmall = 32

func (pc *portCounts) add(p int) {
	if pc.big != nil {
		pc.big[p]++
		return
	}
	if pc.small == nil {
		pc.small = make([]int, 0, 8)
	}
	pc.small = append(pc.small, p)
	if len(pc.small) > portCountsSmall {
		pc.big = make(map[int]int, 2*portCountsSmall)
		for _, q := range pc.small {
			pc.big[q]++
		}
		pc.small = nil
	}
}

func (pc *portCounts) remove(p int) {
	if pc.big != nil {
		if pc.big[p]--; pc.big[p] <= 0 {
			delete(pc.big, p)
		}
		return
	}
	if i := slices.Index(pc.small, p); i >= 0 {
		pc.small = slices.Delete(pc.small, i, i+1)
	}
}

func (pc *portCounts) has(p int) bool {
	if pc.big != nil {
		return pc.big[p] > 0
	}
	return slices.Contains(pc.small, p)
}

// each calls fn for every port held, with how many times it is held, in
// ascending port order.
func (pc *portCounts) each(fn func(port, n int)) {
	if pc.big != nil {
		for _, p := range slices.Sorted(maps.Keys(pc.big)) {
			fn(p, pc.big[p])
		}
		return
	}
	sorted := slices.Sorted(slices.Values(pc.small))
	for i := 0; i < len(sorted); {
		j := i
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		fn(sorted[i], j-i)
		i = j
	}
}

// parsePortSpec parses "22,80,20000-20010".
func parsePortSpec(spec string) ([]portRange, error) {
	if spec == "" {
		return nil, nil
	}
	var out []portRange
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		loS, hiS, isRange := strings.Cut(part, "-")
		lo, err := strconv.Atoi(strings.TrimSpace(loS))
		if err != nil {
			return nil, fmt.Errorf("port spec %q: %w", spec, err)
		}
		hi := lo
		if isRange {
			if hi, err = strconv.Atoi(strings.TrimSpace(hiS)); err != nil {
				return nil, fmt.Errorf("port spec %q: %w", spec, err)
			}
		}
		if lo < 0 || hi > 65535 || lo > hi {
			return nil, fmt.Errorf("port spec %q: invalid range %d-%d", spec, lo, hi)
		}
		out = append(out, portRange{lo, hi})
	}
	return out, nil
}

// newNetIndex indexes a node's addresses and reserved ports. Addresses come
// from the node's fingerprinted host networks; older or minimal nodes fall
// back to host-mode networks with an IP, then to unique.network.ip-address,
// all under the "default" host network.
func newNetIndex(node *structs.Node) *netIndex {
	ni := &netIndex{minDyn: structs.DefaultMinDynamicPort, maxDyn: structs.DefaultMaxDynamicPort}
	if node.ReservedResources != nil {
		// A malformed spec was rejected by the client; ignore it here.
		ni.global, _ = parsePortSpec(node.ReservedResources.Networks.ReservedHostPorts)
	}
	if nr := node.NodeResources; nr != nil {
		if nr.MinDynamicPort > 0 && nr.MaxDynamicPort >= nr.MinDynamicPort {
			ni.minDyn, ni.maxDyn = nr.MinDynamicPort, nr.MaxDynamicPort
		}
		n := 0
		for _, nn := range nr.NodeNetworks {
			n += len(nn.Addresses)
		}
		ni.store = make([]addrPorts, 0, n)
		for _, nn := range nr.NodeNetworks {
			for _, addr := range nn.Addresses {
				var own []portRange
				if addr.ReservedPorts != "" {
					own, _ = parsePortSpec(addr.ReservedPorts)
				}
				ni.addAddress(addr.Alias, addr.Address, own)
			}
		}
	}
	if len(ni.addrs) == 0 {
		for _, ip := range fallbackAddresses(node) {
			ni.addAddress(structs.DefaultHostNetwork, ip, nil)
		}
	}
	return ni
}

func fallbackAddresses(node *structs.Node) []string {
	var out []string
	if node.NodeResources != nil {
		for _, n := range node.NodeResources.Networks {
			if n.IP != "" && (n.Mode == "" || n.Mode == structs.NetworkModeHost) {
				out = append(out, n.IP)
			}
		}
	}
	if ip := node.Attributes[structs.AttrNetworkIPAddress]; len(out) == 0 && ip != "" {
		out = append(out, ip)
	}
	return out
}

func (ni *netIndex) addr(ip string) *addrPorts {
	for _, ap := range ni.addrs {
		if ap.ip == ip {
			return ap
		}
	}
	return nil
}

func (ni *netIndex) addAddress(alias, ip string, own []portRange) {
	if ip == "" {
		return
	}
	if alias == "" {
		alias = structs.DefaultHostNetwork
	}
	ap := ni.addr(ip)
	if ap == nil {
		ap = ni.newAddr(ip)
	}
	ap.reserved = append(ap.reserved, own...)
	for i := range ni.aliases {
		if hn := &ni.aliases[i]; hn.name == alias {
			if !slices.Contains(hn.addrs, ap) {
				hn.addrs = append(hn.addrs, ap)
			}
			return
		}
	}
	ni.aliases = append(ni.aliases, hostNetwork{name: alias, addrs: []*addrPorts{ap}})
}

// newAddr adds an address, from the preallocated store while it has room.
func (ni *netIndex) newAddr(ip string) *addrPorts {
	var ap *addrPorts
	if len(ni.store) < cap(ni.store) {
		ni.store = append(ni.store, addrPorts{ip: ip})
		ap = &ni.store[len(ni.store)-1]
	} else {
		ap = &addrPorts{ip: ip}
	}
	ni.addrs = append(ni.addrs, ap)
	return ap
}

// network returns the addresses of a host network.
func (ni *netIndex) network(name string) []*addrPorts {
	for _, hn := range ni.aliases {
		if hn.name == name {
			return hn.addrs
		}
	}
	return nil
}

// addAlloc marks an allocation's ports used (delta 1) or frees them (-1).
func (ni *netIndex) addAlloc(a *structs.Allocation, delta int) {
	ar := a.AllocatedResources
	if ar == nil {
		return
	}
	if len(ar.Shared.Ports) > 0 {
		for _, p := range ar.Shared.Ports {
			ni.mark(p.HostIP, p.Value, delta)
		}
		return
	}
	mark := func(n *structs.NetworkResource) {
		for _, p := range n.ReservedPorts {
			ni.mark(n.IP, p.Value, delta)
		}
		for _, p := range n.DynamicPorts {
			ni.mark(n.IP, p.Value, delta)
		}
	}
	for _, n := range ar.Shared.Networks {
		mark(n)
	}
	for _, t := range ar.Tasks {
		for _, n := range t.Networks {
			mark(n)
		}
	}
}

// mark counts a port on ip; an empty or wildcard ip holds it on every address.
func (ni *netIndex) mark(ip string, port, delta int) {
	if port <= 0 {
		return
	}
	if ip == "" || ip == "0.0.0.0" || ip == "::" {
		for _, ap := range ni.addrs {
			ap.mark(port, delta)
		}
		return
	}
	ap := ni.addr(ip)
	if ap == nil {
		// An address the node no longer reports: track it anyway so that
		// removing the allocation later balances.
		ap = ni.newAddr(ip)
	}
	ap.mark(port, delta)
}

// addDraining records the ports of a stopping allocation.
func (ni *netIndex) addDraining(a *structs.Allocation) {
	if a.AllocatedResources == nil {
		return
	}
	for _, p := range a.AllocatedResources.Shared.Ports {
		if p.HostIP == "" {
			for _, ap := range ni.addrs {
				ap.draining.add(p.Value)
			}
		} else if ap := ni.addr(p.HostIP); ap != nil {
			ap.draining.add(p.Value)
		}
	}
}

func (ap *addrPorts) mark(port, delta int) {
	if delta > 0 {
		ap.used.add(port)
	} else {
		ap.used.remove(port)
	}
}

// reservedEnd returns the last port of the reserved range holding p, or 0.
func (ni *netIndex) reservedEnd(ap *addrPorts, p int) int {
	for _, rs := range [2][]portRange{ni.global, ap.reserved} {
		for _, r := range rs {
			if p >= r.lo && p <= r.hi {
				return r.hi
			}
		}
	}
	return 0
}

func (ni *netIndex) inUse(ap *addrPorts, p int) bool {
	return ap.used.has(p) || ni.reservedEnd(ap, p) != 0
}

// hostPort is a port chosen for this placement on an address.
type hostPort struct {
	ip   string
	port int
}

// portOffer is the outcome of fitting a group's ports onto a node: the
// chosen static and dynamic ports, in ask order.
type portOffer struct {
	static, dynamic []hostPort
}

// offer picks host ports for the group: static ports on the first address of
// their host network where they are free, dynamic ports randomly in the
// dynamic range. The error is the exhausted dimension after "network: ".
func (ni *netIndex) offer(ask *groupAsk, rng *rand.Rand) (*portOffer, string) {
	taken, err := ni.choose(ask, rng, make([]hostPort, 0, len(ask.staticPorts)+len(ask.dynPorts)))
	if err != "" {
		return nil, err
	}
	return &portOffer{static: taken[:len(ask.staticPorts)], dynamic: taken[len(ask.staticPorts):]}, ""
}

// fits reports (as offer's error) whether the group's ports can be had,
// taking the lowest free dynamic ports; it does not allocate for small asks.
func (ni *netIndex) fits(ask *groupAsk) string {
	var buf [8]hostPort
	_, err := ni.choose(ask, nil, buf[:0])
	return err
}

// choose appends a host port for each static, then each dynamic port to
// taken; with a nil rng dynamic ports are the lowest free ones.
func (ni *netIndex) choose(ask *groupAsk, rng *rand.Rand, taken []hostPort) ([]hostPort, string) {
	for _, p := range ask.staticPorts {
		hp, err := ni.static(p, taken)
		if err != "" {
			return nil, err
		}
		taken = append(taken, hp)
	}
	for _, p := range ask.dynPorts {
		hp, err := ni.dynamic(p, taken, rng)
		if err != "" {
			return nil, err
		}
		taken = append(taken, hp)
	}
	return taken, ""
}

func hostNetworkOf(p structs.Port) string {
	if p.HostNetwork == "" {
		return structs.DefaultHostNetwork
	}
	return p.HostNetwork
}

func (ni *netIndex) static(p structs.Port, taken []hostPort) (hostPort, string) {
	hn := hostNetworkOf(p)
	addrs := ni.network(hn)
	if len(addrs) == 0 {
		return hostPort{}, fmt.Sprintf("no addresses available for %s network", hn)
	}
	if p.Value <= 0 || p.Value > 65535 {
		return hostPort{}, fmt.Sprintf("invalid port %d (out of range)", p.Value)
	}
	for _, ap := range addrs {
		hp := hostPort{ap.ip, p.Value}
		if p.IgnoreCollision || (!ni.inUse(ap, p.Value) && !slices.Contains(taken, hp)) {
			return hp, ""
		}
	}
	return hostPort{}, fmt.Sprintf("reserved port collision %s=%d", p.Label, p.Value)
}

func (ni *netIndex) dynamic(p structs.Port, taken []hostPort, rng *rand.Rand) (hostPort, string) {
	hn := hostNetworkOf(p)
	addrs := ni.network(hn)
	if len(addrs) == 0 {
		return hostPort{}, fmt.Sprintf("no addresses available for %s network", hn)
	}
	for _, ap := range addrs {
		if port := ni.pickDynamic(ap, taken, rng); port > 0 {
			return hostPort{ap.ip, port}, ""
		}
	}
	return hostPort{}, "dynamic port selection failed"
}

// pickDynamic returns a free port of the dynamic range on ap, or 0: a few
// random tries, then a scan from a random point (from the bottom without rng).
func (ni *netIndex) pickDynamic(ap *addrPorts, taken []hostPort, rng *rand.Rand) int {
	free := func(p int) bool {
		return !ni.inUse(ap, p) && !ap.draining.has(p) && !slices.Contains(taken, hostPort{ap.ip, p})
	}
	start := ni.minDyn
	if rng != nil {
		span := ni.maxDyn - ni.minDyn + 1
		for range dynamicPortTries {
			if p := ni.minDyn + rng.IntN(span); free(p) {
				return p
			}
		}
		start = ni.minDyn + rng.IntN(span)
	}
	if p := ni.scanFree(ap, start, ni.maxDyn, free); p > 0 {
		return p
	}
	return ni.scanFree(ap, ni.minDyn, start-1, free)
}

// scanFree returns the first free port in [from, to], jumping over reserved
// ranges, or 0.
func (ni *netIndex) scanFree(ap *addrPorts, from, to int, free func(int) bool) int {
	for p := from; p <= to; p++ {
		if end := ni.reservedEnd(ap, p); end != 0 {
			p = end
			continue
		}
		if free(p) {
			return p
		}
	}
	return 0
}

// allocatedNetwork turns an offer into the allocation's shared network and
// port mappings. A port's "to" of -1 becomes its host port.
func allocatedNetwork(ask *groupAsk, o *portOffer) ([]*structs.NetworkResource, structs.AllocatedPorts) {
	n := ask.network
	out := &structs.NetworkResource{
		Mode: n.Mode, Device: n.Device, CIDR: n.CIDR, Hostname: n.Hostname, MBits: n.MBits,
		DNS: n.DNS, CNI: n.CNI,
	}
	ports := make(structs.AllocatedPorts, 0, len(o.static)+len(o.dynamic))
	add := func(p structs.Port, hp hostPort) structs.Port {
		p.Value = hp.port
		if p.To == -1 {
			p.To = hp.port
		}
		ports = append(ports, structs.AllocatedPortMapping{Label: p.Label, Value: p.Value, To: p.To, HostIP: hp.ip})
		if out.IP == "" {
			out.IP = hp.ip
		}
		return p
	}
	for i, p := range ask.staticPorts {
		out.ReservedPorts = append(out.ReservedPorts, add(p, o.static[i]))
	}
	for i, p := range ask.dynPorts {
		out.DynamicPorts = append(out.DynamicPorts, add(p, o.dynamic[i]))
	}
	return []*structs.NetworkResource{out}, ports
}
