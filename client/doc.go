// Package client is the node agent: it fingerprints the node, registers it
// with the servers and heartbeats, watches the servers for the allocations
// placed on it, runs each through an allocrunner.AllocRunner, and reports
// their state back in batches. Its local state (client/state) lets a
// restarted client re-attach to the tasks it left running.
//
//	          ┌──────────── Node.Register / Node.UpdateStatus (heartbeat)
//	Client ───┼──────────── Node.GetClientAllocs (blocking) → Alloc.GetAllocs
//	  │       └──────────── Node.UpdateAlloc (batched every ~200ms)
//	  ├── AllocRunner (per alloc) ── TaskRunner (per task) ── Driver ── executor ── task
//	  └── state DB (bbolt): allocs, task states, task handles, node identity
//
// Map of the package:
//
//	config.go    Config and its defaults; RPCer, the server connection
//	client.go    Client: New, Run, Shutdown, accessors for the HTTP layer
//	node.go      building the Node: identity, reservations, fingerprints
//	drivers.go   the built-in drivers (raw_exec, exec, java) and driver fingerprinting
//	register.go  registration, re-registration and the heartbeat loop
//	watcher.go   the allocation watcher: diff, pull, add/update/destroy runners
//	updater.go   batches allocation state updates to the servers
//	restore.go   re-creates alloc runners from the state DB at startup
//	gc.go        garbage collection of terminal allocations' directories
//	network.go   wiring of the group networks' manager (client/network):
//	             repair loop, driver namespaces, moved allocations
//	node_network.go  refreshing the network fingerprint
//
// The HTTP endpoints for allocations (files, logs, exec, stats) live in
// client/clientapi; task artifacts are fetched by client/artifact.
package client
