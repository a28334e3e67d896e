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
// Writes are deterministic: they never read the clock, random numbers or the
// environment, and never make up IDs. Every server applies the same Raft log
// to its own store, and a server that joins later restores a snapshot and
// applies the rest; the day a second server does so, both must hold the same
// state, to the nanosecond of every ModifyTime, or a leader change would show
// clients another history. Times and IDs are stamped by whoever builds the
// entry (RPC endpoints, plan applier, leader loops, heartbeats) and passed
// in; a write that gets no time keeps the one stored. Snapshot plus restore
// must give back exactly what was persisted. server's
// TestFSMApplyIsDeterministic replays a real server's log twice, through a
// snapshot and with the clock moved, and compares the stores with Walk;
// TestApplyCodeReadsNoClockOrRandomness fails on any time.Now, rand or
// GenerateUUID in this package.
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
//	snapshot.go   Persist and Restore of snapshots
//	walk.go       Walk: every object by every index (comparing stores)
//	keyring.go    the identity keyring (root_keys): signing keys the leader
//	              generated; storing an active key demotes the previous one
package state
