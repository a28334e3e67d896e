// Package netns gives allocations their own network: named network
// namespaces, the client's bridge with a veth per allocation, an address
// allocator whose leases the client persists, the iptables rules that NAT
// egress, map host ports and keep allocations apart, and CNI networks run
// through libcni. Everything here is idempotent: Setup on an allocation
// whose network is partly gone re-creates what is missing, which is how the
// client repairs networks after a restart, a reboot or a firewall flush.
//
// Map of the package:
//
//	namespace_linux.go  named namespaces under /var/run/netns (what `ip netns` shows)
//	bridge_linux.go     Bridge: the bridge device, Setup/Check/Teardown per allocation
//	veth_linux.go       the veth pair: host end on the bridge, eth0 in the namespace
//	rules_linux.go      iptables chains ROAM-* and the rules tagged per bridge and alloc
//	sysctl_linux.go     the kernel settings roam sets itself
//	cni_linux.go        CNI: loading network configs, ADD/CHECK/DEL through libcni
//	probe_linux.go      what this kernel can do (bridge, veth, netns, iptables)
//	ipam.go             Allocator: addresses of the bridge subnet, leases in a LeaseStore
//	types.go            requests, statuses and names shared by the configurators
//	doctor/             `roam node doctor`: the host checks, for operators
package netns
