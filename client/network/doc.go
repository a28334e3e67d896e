// Package network gives the client's allocations their group networks: a
// Manager that creates the namespace, runs the allocation's network mode,
// records what it did in the client's state DB (one record per allocation,
// and the bridge's address leases), repairs live networks at start and
// every repair interval, and removes the networks of allocations the
// client no longer runs. The client's allocation runners reach it through
// allocrunner.Networks.
//
// Each network mode is a Mode (Setup, Check, Repair, Teardown) in a file
// of its own; the manager holds no switch on mode names. The modes a
// client offers are the ordered list in builtinModes (modes.go):
//
//	mode        namespace                 what the mode does                       file
//	host        the host's (none made)    nothing: tasks share the host's network  host.go
//	bridge      /var/run/netns/<alloc>    netns.Bridge: veth, address lease, rules bridge.go
//	none        /var/run/netns/<alloc>    loopback only                            none.go
//	cni/<name>  /var/run/netns/<alloc>    netns.CNI: libcni ADD, CHECK, DEL        cni.go
//
// A driver that must own the namespace (docker's pause container) creates
// it instead; the manager then only configures it, follows it when the
// driver makes it anew, and never deletes it.
//
// A namespace of the client's is replaced when the one at its path is not
// the one last configured (its nsfs inode, netns.Identity, is recorded at
// each set-up) or the manager had to make it. configure decides that after
// creating the namespace, never before: a namespace deleted while a repair
// round checks it, and made again by that round, strands the tasks in the
// deleted one just the same, and Callbacks.Moved must hear of it.
//
// Optional powers of a mode, each a small interface in mode.go: Restorer
// (re-attach to what an earlier client process set up), HostRepairer
// (host-wide parts such as the bridge device, repaired before each round),
// LeaseHolder (per-allocation state kept beside the records) and
// InHostNamespace (no namespace at all).
//
// Adding a mode: write one file with a type implementing Mode (and any
// optional interface it needs), and add one line to builtinModes saying
// why it sits where it does. The allocation runner hands every mode but
// host to the manager, which refuses a mode its list lacks by naming those
// it has. A mode name new to roam is also a constant for
// structs.ParseNetworkMode (so that job files may name it) and something a
// fingerprinter reports (so that the scheduler places groups on nodes that
// offer it).
//
// Map of the package:
//
//	manager.go  Manager: Setup, Teardown, Repair, RemoveOrphans
//	record.go   the allocation's network record, and what modes are given
//	mode.go     Mode and its optional interfaces
//	modes.go    builtinModes, the ordered list, and the lookup
//	host.go, bridge.go, none.go, cni.go   one mode each
package network
