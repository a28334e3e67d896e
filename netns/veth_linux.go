package netns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
)

// ensureBridgeDevice creates the bridge if it is missing and gives it the
// gateway address; it is up either way.
func ensureBridgeDevice(name string, gw netip.Prefix) (netlink.Link, error) {
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return nil, fmt.Errorf("bridge %s: %w", name, err)
		}
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, TxQLen: -1}}
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, errExists) {
			return nil, fmt.Errorf("create bridge %s: %w", name, err)
		}
		if link, err = netlink.LinkByName(name); err != nil {
			return nil, fmt.Errorf("bridge %s: %w", name, err)
		}
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return nil, fmt.Errorf("%s exists and is a %s, not a bridge", name, link.Type())
	}
	if err := netlink.AddrReplace(link, &netlink.Addr{IPNet: prefixNet(gw)}); err != nil {
		return nil, fmt.Errorf("bridge %s address %s: %w", name, gw, err)
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := netlink.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("bridge %s up: %w", name, err)
		}
	}
	return link, nil
}

// vethSpec is one allocation's veth pair.
type vethSpec struct {
	hostName string
	nsPath   string
	ifName   string
	addr     netip.Prefix // the allocation's address, with the subnet's length
	gateway  netip.Addr
	hairpin  bool
	// isolate sets the host end as an isolated bridge port; see
	// isolationMode for when.
	isolate bool
}

// ensureVeth makes the pair exist and be wired: the host end up on the
// bridge and isolated from the other allocations' ports, the peer in the
// namespace as ifName with the address and a default route via the bridge.
// A half-present pair (one end deleted) is replaced.
func ensureVeth(br netlink.Link, v vethSpec) error {
	ns, err := vnetns.GetFromPath(v.nsPath)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", v.nsPath, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", v.nsPath, err)
	}
	defer h.Close()
	host, hostErr := netlink.LinkByName(v.hostName)
	peer, peerErr := h.LinkByName(v.ifName)
	if hostErr != nil || peerErr != nil || !paired(host, peer) {
		if host, err = recreateVeth(br, v, ns, h, host, peer); err != nil {
			return err
		}
		if peer, err = h.LinkByName(v.ifName); err != nil {
			return fmt.Errorf("veth peer %s: %w", v.ifName, err)
		}
		forgetNeighbor(br, v.addr.Addr())
	}
	if err := wireHostEnd(br, host, v.hairpin, v.isolate); err != nil {
		return err
	}
	return configurePeer(h, peer, v)
}

// paired reports whether host and peer are the two ends of one veth.
func paired(host, peer netlink.Link) bool {
	hv, ok1 := host.(*netlink.Veth)
	_, ok2 := peer.(*netlink.Veth)
	if !ok1 || !ok2 {
		return false
	}
	idx, err := netlink.VethPeerIndex(hv)
	return err == nil && idx == peer.Attrs().Index
}

func recreateVeth(br netlink.Link, v vethSpec, ns vnetns.NsHandle, h *netlink.Handle, host, peer netlink.Link) (netlink.Link, error) {
	if host != nil {
		if err := netlink.LinkDel(host); err != nil {
			return nil, fmt.Errorf("delete stale veth %s: %w", v.hostName, err)
		}
	}
	if peer != nil {
		if err := h.LinkDel(peer); err != nil {
			return nil, fmt.Errorf("delete stale %s in %s: %w", v.ifName, v.nsPath, err)
		}
	}
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: v.hostName, MTU: br.Attrs().MTU, TxQLen: -1},
		PeerName:      v.ifName,
		PeerNamespace: netlink.NsFd(int(ns)),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("create veth %s: %w", v.hostName, err)
	}
	host, err := netlink.LinkByName(v.hostName)
	if err != nil {
		return nil, fmt.Errorf("veth %s: %w", v.hostName, err)
	}
	return host, nil
}

func wireHostEnd(br, host netlink.Link, hairpin, isolate bool) error {
	name := host.Attrs().Name
	if host.Attrs().MasterIndex != br.Attrs().Index {
		if err := netlink.LinkSetMaster(host, br); err != nil {
			return fmt.Errorf("veth %s onto bridge %s: %w", name, br.Attrs().Name, err)
		}
	}
	// Isolated bridge ports forward only to the bridge itself: allocations
	// cannot reach each other directly, only through the host.
	if err := netlink.LinkSetIsolated(host, isolate); err != nil {
		return fmt.Errorf("isolate veth %s: %w", name, err)
	}
	if hairpin {
		if err := netlink.LinkSetHairpin(host, true); err != nil {
			return fmt.Errorf("hairpin on veth %s: %w", name, err)
		}
	}
	if host.Attrs().Flags&net.FlagUp == 0 {
		if err := netlink.LinkSetUp(host); err != nil {
			return fmt.Errorf("veth %s up: %w", name, err)
		}
	}
	return nil
}

func configurePeer(h *netlink.Handle, peer netlink.Link, v vethSpec) error {
	if err := h.AddrReplace(peer, &netlink.Addr{IPNet: prefixNet(v.addr)}); err != nil {
		return fmt.Errorf("address %s on %s: %w", v.addr, v.ifName, err)
	}
	if err := h.LinkSetUp(peer); err != nil {
		return fmt.Errorf("%s up: %w", v.ifName, err)
	}
	route := &netlink.Route{LinkIndex: peer.Attrs().Index, Gw: net.IP(v.gateway.AsSlice())}
	if err := h.RouteReplace(route); err != nil {
		return fmt.Errorf("default route via %s: %w", v.gateway, err)
	}
	return nil
}

// checkVeth lists what is wrong with an allocation's pair.
func checkVeth(br netlink.Link, v vethSpec) []string {
	host, err := netlink.LinkByName(v.hostName)
	if err != nil {
		return []string{"veth " + v.hostName + " missing"}
	}
	var problems []string
	if host.Attrs().MasterIndex != br.Attrs().Index {
		problems = append(problems, "veth "+v.hostName+" not on bridge")
	}
	if pi, err := netlink.LinkGetProtinfo(host); err == nil && pi.Isolated != v.isolate {
		problems = append(problems, fmt.Sprintf("veth %s isolated=%v, want %v", v.hostName, pi.Isolated, v.isolate))
	}
	err = withHandle(v.nsPath, func(h *netlink.Handle) error {
		peer, err := h.LinkByName(v.ifName)
		if err != nil {
			return fmt.Errorf("%s missing in namespace", v.ifName)
		}
		if !paired(host, peer) {
			problems = append(problems, v.ifName+" is not the peer of "+v.hostName)
		}
		if !hasAddr(h, peer, v.addr) {
			problems = append(problems, fmt.Sprintf("%s lacks %s", v.ifName, v.addr))
		}
		if !hasDefaultRoute(h, v.gateway) {
			problems = append(problems, "no default route via "+v.gateway.String())
		}
		return nil
	})
	if err != nil {
		problems = append(problems, err.Error())
	}
	return problems
}

func hasAddr(h *netlink.Handle, link netlink.Link, want netip.Prefix) bool {
	addrs, err := h.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if a.IPNet.String() == want.String() {
			return true
		}
	}
	return false
}

func hasAddrIP(h *netlink.Handle, link netlink.Link, ip netip.Addr) bool {
	addrs, err := h.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if a.IP.Equal(net.IP(ip.AsSlice())) {
			return true
		}
	}
	return false
}

func hasDefaultRoute(h *netlink.Handle, gw netip.Addr) bool {
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return false
	}
	for _, r := range routes {
		if (r.Dst == nil || r.Dst.String() == "0.0.0.0/0") && r.Gw.Equal(net.IP(gw.AsSlice())) {
			return true
		}
	}
	return false
}

// deleteVeth removes an allocation's pair (the peer goes with it).
func deleteVeth(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("veth %s: %w", name, err)
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("delete veth %s: %w", name, err)
	}
	return nil
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// forgetNeighbor drops the host's ARP entry for addr on the bridge: after a
// veth is re-created, or an address leased again, the cached MAC is that of
// an interface that no longer exists, and the kernel could keep sending to
// it for half a minute before asking again.
func forgetNeighbor(br netlink.Link, addr netip.Addr) {
	_ = netlink.NeighDel(&netlink.Neigh{LinkIndex: br.Attrs().Index, IP: net.IP(addr.AsSlice())})
}
