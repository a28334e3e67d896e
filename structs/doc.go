// Package structs holds roam's domain types: jobs, task groups, tasks, allocations,
// nodes, evaluations and plans, plus the request and response types that travel
// between the HTTP API, the servers and the clients.
//
// One canonical form: the job-file parser, the JSON API and the Raft log all use
// these types. Field names follow Nomad's wire names on purpose, so that the JSON
// encoding of a value here is what Nomad's own API clients decode.
//
// Map of the package:
//
//	enums.go      typed statuses, modes and kinds, with String and Parse
//	job.go        Job, its policies (update, restart, reschedule, periodic)
//	group.go      TaskGroup, volumes, ephemeral disk
//	task.go       Task, lifecycle, templates, artifacts, logs
//	resources.go  Resources requested and allocated, node resources
//	network.go    NetworkResource, Port, DNS, port mappings
//	service.go    Service, ServiceCheck, Connect
//	alloc.go      Allocation, TaskState, TaskEvent, AllocMetric
//	node.go       Node, drivers, host volumes, host networks
//	eval.go       Evaluation
//	plan.go       Plan and PlanResult
//	identity.go   workload identity claims and the task identity block
//	keyring.go    RootKey (identity signing keys) and the keyring requests
//	rpc.go        request/response envelopes shared by server, client and API
//
// This package imports nothing else from roam (a repository test checks it).
package structs
