package structs

import (
	"net"
	"strconv"
)

// Default dynamic port range of a client.
const (
	DefaultMinDynamicPort = 20000
	DefaultMaxDynamicPort = 32000
	// DefaultHostNetwork is the alias of the client's default host network.
	DefaultHostNetwork = "default"
)

// NetworkResource is a group's network block; on allocations it carries the
// ports the scheduler assigned.
type NetworkResource struct {
	Mode          NetworkMode
	Device        string
	CIDR          string
	IP            string
	Hostname      string
	MBits         int
	DNS           *DNSConfig
	ReservedPorts []Port
	DynamicPorts  []Port
	CNI           *CNIConfig
}

// Port is one port label; Value is the host port (static or assigned) and To the
// port inside the allocation's namespace (-1 means "same as Value").
type Port struct {
	Label           string
	Value           int
	To              int
	HostNetwork     string
	IgnoreCollision bool
}

// PortLabels returns all labels of the network, static ports first.
func (n *NetworkResource) PortLabels() []string {
	var out []string
	for _, p := range n.ReservedPorts {
		out = append(out, p.Label)
	}
	for _, p := range n.DynamicPorts {
		out = append(out, p.Label)
	}
	return out
}

// DNSConfig is written into the allocation's resolv.conf.
type DNSConfig struct {
	Servers  []string
	Searches []string
	Options  []string
}

// CNIConfig carries CNI_ARGS for cni/<name> networks.
type CNIConfig struct {
	Args map[string]string
}

// AllocatedPortMapping is one port the scheduler assigned to an allocation.
type AllocatedPortMapping struct {
	Label  string
	Value  int
	To     int
	HostIP string
}

// AllocatedPorts are all ports of an allocation.
type AllocatedPorts []AllocatedPortMapping

// Get returns the mapping with the given label.
func (p AllocatedPorts) Get(label string) (AllocatedPortMapping, bool) {
	for _, m := range p {
		if m.Label == label {
			return m, true
		}
	}
	return AllocatedPortMapping{}, false
}

// HostAddr returns "HostIP:Value" with IPv6 bracketed.
func (m AllocatedPortMapping) HostAddr() string {
	return net.JoinHostPort(m.HostIP, strconv.Itoa(m.Value))
}

// ToPort returns the port inside the namespace: To when set, else Value.
func (m AllocatedPortMapping) ToPort() int {
	if m.To > 0 {
		return m.To
	}
	return m.Value
}

// NodeNetworkResource is one network interface of a node and its addresses.
type NodeNetworkResource struct {
	Mode       NetworkMode
	Device     string
	MacAddress string
	Speed      int
	Addresses  []NodeNetworkAddress
}

// NodeNetworkAddress is one address of a node interface, with the host-network
// aliases ("default", operator host_network names) it serves.
type NodeNetworkAddress struct {
	Family        string
	Alias         string
	Address       string
	ReservedPorts string
	Gateway       string
}

// AllocNetworkStatus is what the client reports about an allocation's namespace.
type AllocNetworkStatus struct {
	InterfaceName string
	Address       string
	AddressIPv6   string
	DNS           *DNSConfig
}
