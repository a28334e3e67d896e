package fingerprint

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/structs"
)

// defaultSpeedMbits is assumed for interfaces that do not report a speed.
const defaultSpeedMbits = 1000

// networkFingerprint reports the addresses of the client's network interface
// as the "default" host network, the operator's named host networks, and the
// dynamic port range.
type networkFingerprint struct{}

func (networkFingerprint) Name() string { return "network" }

func (networkFingerprint) Fingerprint(cfg *Config, n *structs.Node) error {
	name := cfg.NetworkInterface
	if name == "" {
		name = defaultRouteInterface()
	}
	iface, err := net.InterfaceByName(name)
	if err != nil {
		return fmt.Errorf("network interface %q: %w", name, err)
	}
	nr, err := nodeNetwork(iface, structs.DefaultHostNetwork, cfg.ReservedPorts)
	if err != nil {
		return err
	}
	if len(nr.Addresses) == 0 {
		return fmt.Errorf("network interface %q has no addresses", name)
	}
	nets := []*structs.NodeNetworkResource{nr}
	for _, hn := range sortedHostNetworks(cfg.HostNetworks) {
		nets = addHostNetwork(nets, hn)
	}
	res := n.NodeResources
	res.NodeNetworks = nets
	res.Networks = []*structs.NetworkResource{legacyNetwork(nr)}
	res.MinDynamicPort, res.MaxDynamicPort = cfg.MinDynamicPort, cfg.MaxDynamicPort
	n.Attributes[structs.AttrNetworkIPAddress] = primaryAddress(nr)
	return nil
}

// nodeNetwork lists an interface's addresses under one alias.
func nodeNetwork(iface *net.Interface, alias, reserved string) (*structs.NodeNetworkResource, error) {
	addrs, err := iface.Addrs()
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", iface.Name, err)
	}
	nr := &structs.NodeNetworkResource{
		Mode: structs.NetworkModeHost, Device: iface.Name, MacAddress: iface.HardwareAddr.String(),
		Speed: linkSpeed(iface.Name),
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		nr.Addresses = append(nr.Addresses, structs.NodeNetworkAddress{
			Family: family(ipn.IP), Alias: alias, Address: ipn.IP.String(), ReservedPorts: reserved,
		})
	}
	// IPv4 first: it is what NOMAD_IP_* and the node's address default to.
	slices.SortStableFunc(nr.Addresses, func(a, b structs.NodeNetworkAddress) int {
		return strings.Compare(a.Family, b.Family)
	})
	// An interface with IPv4 addresses offers only those: port mappings
	// (bridge, CNI portmap) are IPv4, and a static port taken on 127.0.0.1
	// must collide rather than move to ::1 where nothing maps it.
	if len(nr.Addresses) > 0 && nr.Addresses[0].Family == "ipv4" {
		nr.Addresses = slices.DeleteFunc(nr.Addresses, func(a structs.NodeNetworkAddress) bool { return a.Family != "ipv4" })
	}
	return nr, nil
}

// addHostNetwork adds the addresses a named host network selects: those
// of its interface (any interface when none is named) that fall inside one
// of its CIDRs (any address when none is given).
func addHostNetwork(nets []*structs.NodeNetworkResource, hn *structs.ClientHostNetworkConfig) []*structs.NodeNetworkResource {
	cidrs, err := ParseCIDRs(hn.CIDR)
	if err != nil {
		return nets // the agent's configuration check reports it
	}
	ifaces, _ := net.Interfaces()
	for _, iface := range ifaces {
		if hn.Interface != "" && iface.Name != hn.Interface {
			continue
		}
		nr, err := nodeNetwork(&iface, hn.Name, hn.ReservedPorts)
		if err != nil {
			continue
		}
		if len(cidrs) > 0 {
			nr.Addresses = slices.DeleteFunc(nr.Addresses, func(a structs.NodeNetworkAddress) bool {
				ip, err := netip.ParseAddr(a.Address)
				return err != nil || !slices.ContainsFunc(cidrs, func(p netip.Prefix) bool { return p.Contains(ip) })
			})
		}
		if len(nr.Addresses) > 0 {
			nets = append(nets, nr)
		}
	}
	return nets
}

// ParseCIDRs parses a host network's cidr: one or more prefixes, comma
// separated; "" is none.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("cidr %q: %w", f, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func sortedHostNetworks(m map[string]*structs.ClientHostNetworkConfig) []*structs.ClientHostNetworkConfig {
	out := make([]*structs.ClientHostNetworkConfig, 0, len(m))
	for name, hn := range m {
		c := *hn
		c.Name = name
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *structs.ClientHostNetworkConfig) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func legacyNetwork(nr *structs.NodeNetworkResource) *structs.NetworkResource {
	ip := primaryAddress(nr)
	bits := 32
	if net.ParseIP(ip).To4() == nil {
		bits = 128
	}
	return &structs.NetworkResource{
		Mode: structs.NetworkModeHost, Device: nr.Device, IP: ip,
		CIDR: ip + "/" + strconv.Itoa(bits), MBits: nr.Speed,
	}
}

func primaryAddress(nr *structs.NodeNetworkResource) string {
	if len(nr.Addresses) == 0 {
		return ""
	}
	return nr.Addresses[0].Address
}

func family(ip net.IP) string {
	if ip.To4() != nil {
		return "ipv4"
	}
	return "ipv6"
}

func linkSpeed(name string) int {
	b, err := os.ReadFile("/sys/class/net/" + name + "/speed")
	if err == nil {
		if s, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && s > 0 {
			return s
		}
	}
	return defaultSpeedMbits
}

// defaultRouteInterface returns the interface of the IPv4 default route, or
// "lo" when there is none (a machine without networking still runs tasks).
// Read through /proc/thread-self for the reason given at ListeningSockets.
func defaultRouteInterface() string {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f, err := os.Open("/proc/thread-self/net/route")
	if err != nil {
		return "lo"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 2 && fields[1] == "00000000" {
			return fields[0]
		}
	}
	return "lo"
}
