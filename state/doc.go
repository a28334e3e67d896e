// Package state is roam's cluster state: an indexed in-memory store (go-memdb)
// that the Raft FSM writes and everything else reads.
//
// Every write takes the Raft index it commits at, and records it per table in
// the "index" table; blocking queries wait until the index they care about
// passes the caller's MinQueryIndex. Readers that need a consistent view (the
// schedulers, the plan applier) take a Snapshot, which costs O(1) thanks to
// memdb's immutable radix trees.
//
// Objects stored here are never mutated in place: writers copy, change and
// insert. Allocations of one job version share one *structs.Job.
//
//	schema.go     tables and indexes
//	store.go      StateStore, Snapshot, BlockingQuery, Restore
//	jobs.go       jobs, versions, submissions
//	summary.go    job summaries and derived job status
//	evals.go      evaluations
//	allocs.go     allocations, plan results, client updates
//	nodes.go      nodes
//	node_allocs.go  per node, the index of the servers' last change to its
//	              allocations (what a client's allocation watch waits on)
//	node_usage.go per node, the sum of its live allocations (what the
//	              scheduler reads instead of adding them up per evaluation)
//	services.go   service registrations (provider "nomad")
package state
