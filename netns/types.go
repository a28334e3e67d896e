package netns

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Errors callers tell apart.
var (
	// ErrUnsupported: this platform or kernel cannot give allocations
	// their own network.
	ErrUnsupported = errors.New("network namespaces are not supported here")
	// ErrNetworkNotFound: no CNI network config by that name.
	ErrNetworkNotFound = errors.New("CNI network config not found")
)

// Protocols every port is mapped for: the job file's port block does not
// say which one a task speaks, so both are mapped.
var Protocols = []string{"tcp", "udp"}

// PortMapping maps a host port onto a port inside an allocation's namespace.
type PortMapping struct {
	Label string
	// HostIP is the host address the port is mapped on; "" maps it on every
	// local address.
	HostIP        string
	HostPort      int
	ContainerPort int
	// Gateway also maps the port on the bridge's gateway address: the
	// host's own address as allocations see it, so that one allocation
	// reaches another's port the way the host does. Set for ports of the
	// default host network.
	Gateway bool
}

// Request is one allocation's network as a configurator sees it.
type Request struct {
	AllocID string
	// NSPath is the namespace to configure (/var/run/netns/<alloc>, or a
	// driver's namespace such as docker's pause container's).
	NSPath string
	// IfName is the interface created inside the namespace ("eth0").
	IfName string
	Ports  []PortMapping
	// Args are CNI_ARGS for CNI networks.
	Args map[string]string
}

// Status is what a configured namespace looks like from outside.
type Status struct {
	InterfaceName string
	Address       netip.Addr
	Gateway       netip.Addr
	// DNS is what a CNI plugin returned, if anything.
	DNSServers  []string
	DNSSearches []string
	DNSOptions  []string
}

// HostVethName is the host end of an allocation's veth: "roam" and eight
// hex digits of a hash of the alloc ID, within the kernel's 15 characters.
// It is a function of the alloc ID alone, so repair finds it again.
func HostVethName(prefix, allocID string) string {
	sum := sha256.Sum256([]byte(allocID))
	return prefix + hex.EncodeToString(sum[:4])
}

// allocComment tags every rule of one allocation so that repair and
// teardown find them, whatever else shares the chains.
func allocComment(allocID string) string { return "roam alloc " + allocID }

// bridgeComment tags the rules one bridge needs for all its allocations.
func bridgeComment(bridge string) string { return "roam bridge " + bridge }

// jumpComment tags the jumps from the kernel's chains into roam's.
const jumpComment = "roam"

func validateRequest(r *Request) error {
	var problems []string
	if r.AllocID == "" {
		problems = append(problems, "alloc ID is empty")
	}
	if r.NSPath == "" {
		problems = append(problems, "namespace path is empty")
	}
	for _, p := range r.Ports {
		if p.HostPort < 1 || p.HostPort > 65535 || p.ContainerPort < 1 || p.ContainerPort > 65535 {
			problems = append(problems, fmt.Sprintf("port %s: %d->%d out of range", p.Label, p.HostPort, p.ContainerPort))
		}
		if p.HostIP != "" {
			if _, err := netip.ParseAddr(p.HostIP); err != nil {
				problems = append(problems, fmt.Sprintf("port %s: host IP %q: %v", p.Label, p.HostIP, err))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("network request: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Gateway is the bridge address of subnet: its first host address.
func Gateway(subnet netip.Prefix) netip.Addr { return subnet.Masked().Addr().Next() }
