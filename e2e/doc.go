// Package e2e holds black-box tests of the built roam binary: agents are
// started as separate processes from HCL config files and driven through the
// CLI and the HTTP API, as an operator would.
//
// chaos_*_test.go are the fault-injection suite (docs/cluster.md): a
// cluster of agents in network namespaces, faults by signal and firewall,
// a recorded workload checked for linearizability with porcupine.
package e2e
