package netns

import (
	"fmt"
	"net/netip"
	"os/exec"
)

// Firewall backends of the bridge (client.bridge_network_firewall).
const (
	// FirewallAuto is iptables when its commands are installed (they are
	// wherever Docker is, and then roam's rules must sit in the same
	// tables as Docker's to get past its FORWARD policy), else nftables.
	FirewallAuto = "auto"
	// FirewallIptables writes rules with the iptables commands.
	FirewallIptables = "iptables"
	// FirewallNftables writes a table of roam's own over netlink: nothing
	// to install beyond the kernel.
	FirewallNftables = "nftables"
)

// firewall writes the packet rules of a bridge and of its allocations:
// forwarding and masquerading for the bridge, DNAT for each allocation's
// ports (the layout is in rules_linux.go). Rules carry a tag (the bridge's
// or the allocation's) so that each set is found, checked and removed on
// its own. Every method is idempotent.
type firewall interface {
	// ensureBridge creates the chains and the bridge's rules where they
	// are missing; repaired says it had to.
	ensureBridge(br string, subnet netip.Prefix) (repaired bool, err error)
	// ensureAlloc makes the allocation's DNAT rules exactly these.
	ensureAlloc(allocID string, addr, gateway netip.Addr, ports []PortMapping) error
	// deleteAlloc removes the allocation's rules.
	deleteAlloc(allocID string) error
	// missing counts the rules of the bridge and the allocation that are
	// not in place.
	missing(br string, subnet netip.Prefix, allocID string, addr, gateway netip.Addr, ports []PortMapping) (int, error)
	// destroy removes the bridge's rules, and roam's chains when no rule
	// is left in them.
	destroy(br string) error
}

// Redirector is the optional power of a firewall backend to redirect TCP
// inside an allocation's namespace (Redirect); both backends have it. The
// rules live in that namespace, in the backend's chains or table there,
// so they go with the namespace. Both methods are idempotent.
type Redirector interface {
	// InstallRedirect makes the rules of r.Name in the namespace at nsPath
	// exactly r's: installing again changes nothing, installing other
	// settings under the name replaces them.
	InstallRedirect(nsPath string, r Redirect) error
	// RemoveRedirect removes the rules of name, and roam's chains or table
	// in the namespace once nothing else is in them.
	RemoveRedirect(nsPath, name string) error
}

var (
	_ Redirector = (*rules)(nil)
	_ Redirector = (*nftRules)(nil)
)

// NewRedirector returns backend kind ("" is auto, as for the bridge) with
// chain or table names from prefix ("" is DefaultChainPrefix), or an
// error if that backend cannot redirect.
func NewRedirector(kind, prefix string) (Redirector, error) {
	if prefix == "" {
		prefix = DefaultChainPrefix
	}
	fw, err := newFirewall(kind, prefix)
	if err != nil {
		return nil, err
	}
	r, ok := fw.(Redirector)
	if !ok {
		return nil, fmt.Errorf("firewall %s cannot redirect traffic", ResolveFirewall(kind))
	}
	return r, nil
}

// newFirewall returns the backend kind ("" is auto) with chain or table
// names from prefix.
func newFirewall(kind, prefix string) (firewall, error) {
	switch kind {
	case "", FirewallAuto:
		if iptablesInstalled() == nil {
			return newRules(prefix)
		}
		return newNftables(prefix)
	case FirewallIptables:
		return newRules(prefix)
	case FirewallNftables:
		return newNftables(prefix)
	}
	return nil, fmt.Errorf("bridge firewall %q: want auto, iptables or nftables", kind)
}

// ResolveFirewall is the backend kind resolves to on this host.
func ResolveFirewall(kind string) string {
	if kind == "" || kind == FirewallAuto {
		if iptablesInstalled() == nil {
			return FirewallIptables
		}
		return FirewallNftables
	}
	return kind
}

// iptablesInstalled says which of the commands the iptables backend runs
// is missing, if any.
func iptablesInstalled() error {
	for _, cmd := range []string{"iptables", "iptables-restore"} {
		if _, err := exec.LookPath(cmd); err != nil {
			return fmt.Errorf("the %s command is missing (Debian's iptables package)", cmd)
		}
	}
	return nil
}

// The iptables backend: rules (rules_linux.go) seen as a firewall.

func (r *rules) ensureBridge(br string, subnet netip.Prefix) (bool, error) {
	if err := r.ensureChains(); err != nil {
		return false, err
	}
	return r.ensureSet(bridgeComment(br), r.bridgeRules(br, subnet))
}

func (r *rules) ensureAlloc(allocID string, addr, gateway netip.Addr, ports []PortMapping) error {
	_, err := r.ensureSet(allocComment(allocID), r.allocRules(allocID, addr, gateway, ports))
	return err
}

func (r *rules) deleteAlloc(allocID string) error { return r.deleteTagged(allocComment(allocID)) }

func (r *rules) missing(br string, subnet netip.Prefix, allocID string, addr, gateway netip.Addr, ports []PortMapping) (int, error) {
	want := append(r.bridgeRules(br, subnet), r.allocRules(allocID, addr, gateway, ports)...)
	j := r.jumps() // DOCKER-USER's (index 1) exists only with Docker
	want = append(want, j[0], j[2], j[3], j[4])
	absent, err := r.absent(want)
	return len(absent), err
}

func (r *rules) destroy(br string) error {
	if err := r.deleteTagged(bridgeComment(br)); err != nil {
		return err
	}
	return r.removeChainsIfEmpty()
}
