// Package fingerprint discovers what a client node offers: host identity,
// CPU, memory, cgroups, the alloc dir's disk, network addresses and roam's
// version. Each fingerprinter fills in part of a structs.Node; the client runs them in
// the order Default lists (drivers are fingerprinted by the client itself).
//
// Map of the package:
//
//	fingerprint.go  Fingerprinter, Config, Default (the ordered list), Run
//	host.go         kernel.*, os.*, unique.hostname, cpu.arch
//	cpu.go          cpu.* and NodeResources.Cpu
//	memory.go       memory.totalbytes and NodeResources.Memory
//	cgroup.go       os.cgroups.version, unique.cgroup.* (internal/cgroups)
//	storage.go      unique.storage.* and NodeResources.Disk for the alloc dir
//	network.go      node networks and unique.network.ip-address
//	version.go      nomad.version, roam.version
package fingerprint
