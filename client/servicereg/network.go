package servicereg

import (
	"fmt"
	"strconv"

	"github.com/roam-sh/roam/structs"
)

// Network is what an instance's address is computed from.
type Network struct {
	// HostAddress is the node's address, for ports without a host IP.
	HostAddress string
	// AllocAddress is the group namespace's address ("" when the group
	// shares the host's network).
	AllocAddress string
	// NSPath is the group's network namespace ("" for the host's): a
	// check dials from inside it.
	NSPath string
	// Ports are the allocation's ports (group network ports).
	Ports structs.AllocatedPorts
}

// Address returns where a service (or a check) is reached for an
// address_mode and a port label or number:
//
//	host        the port's host IP and host port (the node's address
//	            when the port has no host IP)
//	alloc       the group namespace's address and the port's "to" (the
//	            port inside the namespace); needs a group network
//	driver      as alloc: every task of a group with its own network
//	            runs in that namespace, whatever its driver
//	auto / ""   host
//
// A number instead of a label is used as is, with the mode's address. An
// empty port gives port 0 (a service with no port).
func (n *Network) Address(mode structs.AddressMode, port string) (string, int, error) {
	inside := mode == structs.AddressModeAlloc || mode == structs.AddressModeAllocIPv6 || mode == structs.AddressModeDriver
	if inside && n.AllocAddress == "" {
		return "", 0, fmt.Errorf("address_mode %q needs a group network namespace (network { mode = \"bridge\" })", mode)
	}
	addr := n.HostAddress
	if inside {
		addr = n.AllocAddress
	}
	if port == "" {
		return addr, 0, nil
	}
	if num, err := strconv.Atoi(port); err == nil {
		if num < 1 || num > 65535 {
			return "", 0, fmt.Errorf("port %d is not between 1 and 65535", num)
		}
		return addr, num, nil
	}
	m, ok := n.Ports.Get(port)
	if !ok {
		return "", 0, fmt.Errorf("port label %q is not a port of the group's network", port)
	}
	if inside {
		if m.To > 0 {
			return addr, m.To, nil
		}
		return addr, m.Value, nil
	}
	if m.HostIP != "" {
		addr = m.HostIP
	}
	return addr, m.Value, nil
}
