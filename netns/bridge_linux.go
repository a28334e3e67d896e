package netns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

var errExists = unix.EEXIST

// Defaults of the client's bridge (client.bridge_network_name and
// bridge_network_subnet): Nomad's, so that hosts, firewalls and monitoring
// set up for Nomad's bridge fit. Chains, veths and the nftables table keep
// roam's own names.
const (
	DefaultBridgeName   = "nomad"
	DefaultBridgeSubnet = "172.26.64.0/20"
	DefaultChainPrefix  = "ROAM"
	DefaultVethPrefix   = "roam"
	DefaultIfName       = "eth0"
)

// BridgeConfig configures the client's bridge network.
type BridgeConfig struct {
	Name    string
	Subnet  netip.Prefix
	Hairpin bool
	// ChainPrefix names roam's iptables chains (<prefix>-FORWARD...).
	ChainPrefix string
	// VethPrefix starts the host end's name (<prefix><8 hex>).
	VethPrefix string
	// Firewall is the rules' backend: FirewallAuto (""), FirewallIptables
	// or FirewallNftables.
	Firewall string
}

func (c BridgeConfig) withDefaults() BridgeConfig {
	if c.Name == "" {
		c.Name = DefaultBridgeName
	}
	if !c.Subnet.IsValid() {
		c.Subnet = netip.MustParsePrefix(DefaultBridgeSubnet)
	}
	if c.ChainPrefix == "" {
		c.ChainPrefix = DefaultChainPrefix
	}
	if c.VethPrefix == "" {
		c.VethPrefix = DefaultVethPrefix
	}
	return c
}

// Bridge is the bridge configurator: one Linux bridge, a veth and an
// address per allocation, NAT and port mappings in iptables. Every method
// is idempotent; Setup repairs whatever it finds missing.
type Bridge struct {
	cfg    BridgeConfig
	ipam   *Allocator
	fw     firewall
	logger *slog.Logger
	mu     sync.Mutex // serialises changes to the bridge and its rules
}

// NewBridge builds the configurator; Init creates the bridge.
func NewBridge(cfg BridgeConfig, leases LeaseStore, logger *slog.Logger) (*Bridge, error) {
	cfg = cfg.withDefaults()
	ipam, err := NewAllocator(cfg.Subnet, leases)
	if err != nil {
		return nil, err
	}
	fw, err := newFirewall(cfg.Firewall, cfg.ChainPrefix)
	if err != nil {
		return nil, err
	}
	return &Bridge{cfg: cfg, ipam: ipam, fw: fw, logger: logger.With("component", "netns", "bridge", cfg.Name)}, nil
}

// Name is the bridge device's name.
func (b *Bridge) Name() string { return b.cfg.Name }

// Gateway is the bridge's address, the allocations' default route.
func (b *Bridge) Gateway() netip.Addr { return b.ipam.Gateway() }

// Subnet is the allocations' subnet.
func (b *Bridge) Subnet() netip.Prefix { return b.ipam.Subnet() }

// Init creates the bridge and its address, the chains and the bridge's
// rules, and sets the kernel settings bridging needs. The client calls it
// when it starts, not when the first allocation needs it, so a host that
// cannot bridge is found out at once.
func (b *Bridge) Init() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, err := b.ensureBase()
	return err
}

func (b *Bridge) gatewayPrefix() netip.Prefix {
	return netip.PrefixFrom(b.ipam.Gateway(), b.ipam.Subnet().Bits())
}

// ensureDevice re-creates the bridge if it was deleted (and its rules
// with it, which the chains' jumps need); otherwise it only checks the
// device. The rules are checked by Init, at start and on every repair
// round, rather than on each allocation's Setup: each check runs iptables.
func (b *Bridge) ensureDevice() (netlink.Link, error) {
	if br, err := netlink.LinkByName(b.cfg.Name); err == nil && br.Attrs().Flags&net.FlagUp != 0 {
		return br, nil
	}
	return b.ensureBase()
}

// ensureBase makes the bridge, the sysctls, the chains and the bridge rules
// exist, and returns the bridge.
func (b *Bridge) ensureBase() (netlink.Link, error) {
	br, err := ensureBridgeDevice(b.cfg.Name, b.gatewayPrefix())
	if err != nil {
		return nil, err
	}
	if err := ensureSysctl(sysctlIPForward, "1"); err != nil {
		return nil, err
	}
	if err := ensureSysctl(routeLocalnetKey(b.cfg.Name), "1"); err != nil {
		return nil, err
	}
	if isolationMode() == isolateFirewall {
		if err := setBridgeNFCallIptables(br); err != nil {
			return nil, err
		}
	}
	repaired, err := b.fw.ensureBridge(b.cfg.Name, b.ipam.Subnet())
	if err != nil {
		return nil, err
	}
	if repaired {
		b.logger.Info("bridge rules installed")
	}
	return br, nil
}

func (b *Bridge) veth(req *Request, addr netip.Addr) vethSpec {
	ifName := req.IfName
	if ifName == "" {
		ifName = DefaultIfName
	}
	return vethSpec{
		hostName: HostVethName(b.cfg.VethPrefix, req.AllocID), nsPath: req.NSPath, ifName: ifName,
		addr: netip.PrefixFrom(addr, b.ipam.Subnet().Bits()), gateway: b.ipam.Gateway(), hairpin: b.cfg.Hairpin,
		isolate: isolationMode() == isolatePorts,
	}
}

// Setup connects the allocation's namespace to the bridge, or repairs the
// connection: same lease (so the same address), veth, address and route,
// DNAT rules for its ports.
func (b *Bridge) Setup(ctx context.Context, req *Request) (*Status, error) {
	if err := validateRequest(req); err != nil {
		return nil, err
	}
	if !IsNamespace(req.NSPath) {
		return nil, fmt.Errorf("alloc %s: namespace %s does not exist", req.AllocID, req.NSPath)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	br, err := b.ensureDevice()
	if err != nil {
		return nil, fmt.Errorf("alloc %s: bridge: %w", req.AllocID, err)
	}
	addr, err := b.ipam.Lease(req.AllocID)
	if err != nil {
		return nil, fmt.Errorf("alloc %s: %w", req.AllocID, err)
	}
	v := b.veth(req, addr)
	if err := ensureVeth(br, v); err != nil {
		return nil, fmt.Errorf("alloc %s: %w", req.AllocID, err)
	}
	if err := b.fw.ensureAlloc(req.AllocID, addr, b.ipam.Gateway(), req.Ports); err != nil {
		return nil, fmt.Errorf("alloc %s: port mappings: %w", req.AllocID, err)
	}
	return &Status{InterfaceName: v.ifName, Address: addr, Gateway: b.ipam.Gateway()}, ctx.Err()
}

// Check lists what is missing or wrong in the allocation's network; an
// empty list means Setup would change nothing.
func (b *Bridge) Check(req *Request) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !IsNamespace(req.NSPath) {
		return []string{"namespace " + req.NSPath + " missing"}
	}
	br, err := netlink.LinkByName(b.cfg.Name)
	if err != nil {
		return []string{"bridge " + b.cfg.Name + " missing"}
	}
	leases, err := b.ipam.Leases()
	if err != nil {
		return []string{"leases: " + err.Error()}
	}
	addr, ok := leases[req.AllocID]
	if !ok {
		return []string{"no address lease"}
	}
	problems := checkVeth(br, b.veth(req, addr))
	missing, err := b.fw.missing(b.cfg.Name, b.ipam.Subnet(), req.AllocID, addr, b.ipam.Gateway(), req.Ports)
	switch {
	case err != nil:
		problems = append(problems, err.Error())
	case missing > 0:
		problems = append(problems, fmt.Sprintf("%d firewall rules missing", missing))
	}
	return problems
}

// Teardown removes the allocation's veth, rules and lease. The namespace
// is its owner's to delete. Tearing down twice is fine.
func (b *Bridge) Teardown(_ context.Context, allocID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	errs = append(errs, deleteVeth(HostVethName(b.cfg.VethPrefix, allocID)))
	errs = append(errs, b.fw.deleteAlloc(allocID))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("alloc %s: teardown: %w", allocID, err)
	}
	if leases, err := b.ipam.Leases(); err == nil {
		if addr, ok := leases[allocID]; ok {
			if br, err := netlink.LinkByName(b.cfg.Name); err == nil {
				forgetNeighbor(br, addr)
			}
		}
	}
	// The lease goes last: kept while anything else remains, the next
	// repair or teardown still knows the address.
	return b.ipam.Release(allocID)
}

// Leases returns the allocations holding an address, by alloc ID.
func (b *Bridge) Leases() (map[string]netip.Addr, error) { return b.ipam.Leases() }

// Destroy removes the bridge device, its rules and, when no other bridge
// uses them, roam's chains: what an operator's "undo" does, and how tests
// leave the host as they found it. Allocations must be torn down first.
func (b *Bridge) Destroy() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	errs = append(errs, b.fw.destroy(b.cfg.Name))
	if link, err := netlink.LinkByName(b.cfg.Name); err == nil {
		errs = append(errs, netlink.LinkDel(link))
	}
	return errors.Join(errs...)
}
