// Package netns gives allocations their own network: named network
// namespaces, the client's bridge with a veth per allocation, an address
// allocator whose leases the client persists, the iptables rules that NAT
// egress, map host ports and keep allocations apart, and CNI networks run
// through libcni. Everything here is idempotent: Setup on an allocation
// whose network is partly gone re-creates what is missing, which is how the
// client repairs networks after a restart, a reboot or a firewall flush.
//
// Running inside an allocation's namespace. Health checks and the mesh
// proxy dial and listen where the tasks do. Do(nsPath, fn) runs fn on a
// goroutine locked to an OS thread that enters the namespace and leaves it
// afterwards; a thread that cannot go back is retired, never reused, and
// the caller's own thread never moves. Listen, ListenPacket and Dialer open
// sockets that way: a socket belongs to the namespace it was made in for
// its whole life, whichever thread uses it later. Addresses must be IP
// literals (a name would be resolved outside).
//
// Redirection. A transparent proxy needs the allocation's TCP sent to its
// port: Redirector, an optional power of a firewall backend that both
// backends have (NewRedirector), installs a Redirect inside a namespace —
// outbound connections, optionally only to some networks and ports and
// never those of an exempt uid or socket mark (the proxy's own), to
// 127.0.0.1:port; inbound connections, optionally only to some ports, to a
// local port. Rules are tagged "roam redirect <name>", installed and
// removed idempotently, and roam's chains or table in the namespace go
// with the last of them.
//
// Map of the package:
//
//	namespace_linux.go  named namespaces under /var/run/netns (what `ip netns` shows)
//	do_linux.go         Do, Listen, ListenPacket, Dialer: code and sockets inside a namespace
//	bridge_linux.go     Bridge: the bridge device, Setup/Check/Teardown per allocation
//	veth_linux.go       the veth pair: host end on the bridge, eth0 in the namespace
//	firewall_linux.go   the firewall backends (iptables, nftables) and Redirector
//	rules_linux.go      iptables chains ROAM-* and the rules tagged per bridge and alloc
//	nftables_linux.go   the same rules in table ip roam, over netlink
//	redirect.go         Redirect: TCP inside a namespace sent to a local port
//	redirect_*_linux.go the redirect rules of each backend
//	sysctl_linux.go     the kernel settings roam sets itself
//	cni_linux.go        CNI: loading network configs, ADD/CHECK/DEL through libcni
//	probe_linux.go      what this kernel can do (bridge, veth, netns, iptables)
//	ipam.go             Allocator: addresses of the bridge subnet, leases in a LeaseStore
//	types.go            requests, statuses and names shared by the configurators
//	doctor/             `roam node doctor`: the host checks, for operators
package netns
