// Package state is the client's local database (bbolt): what the client must
// find again after a restart to re-attach to running tasks instead of
// starting them again.
//
// Layout (buckets are nested; values are MessagePack, see internal/wire):
//
//	meta/                 version, node_id, node_secret
//	allocs/<alloc ID>/    alloc, network_status
//	    task-<name>/      state (structs.TaskState), local (taskrunner.LocalState)
//
// Every change is written (and synced) as it happens. Task writes for an
// allocation whose bucket was deleted are dropped, so a late write cannot
// resurrect a destroyed allocation.
//
// Map of the package:
//
//	db.go      Open, Close, node identity
//	allocs.go  allocations, task states, task handles, network status
package state
