// Package state is the client's local database (bbolt): what the client must
// find again after a restart to re-attach to running tasks instead of
// starting them again.
//
// Layout (buckets are nested; values are MessagePack, see internal/wire):
//
//	meta/                 version, node_id, node_secret
//	allocs/<alloc ID>/    alloc, network_status
//	    hooks/            <hook name>: an alloc hook's saved state (taskrunner.HookState)
//	    task-<name>/      state (structs.TaskState), local (taskrunner.LocalState,
//	                      task hooks' saved states included)
//
// Every change is written (and synced) as it happens. Task writes for an
// allocation whose bucket was deleted are dropped, so a late write cannot
// resurrect a destroyed allocation.
//
// Map of the package:
//
//	db.go      Open, Close, node identity
//	allocs.go  allocations, task states, task handles, network status, hook states
package state
