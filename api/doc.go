// Package api is the Go client of roam's HTTP API and the home of its wire
// types. The CLI, the tests and (later) the web UI talk to an agent only
// through this package.
//
// Wire types are type aliases of the domain types in structs (type Job =
// structs.Job) rather than copies. There is one canonical form of every
// object: the job-file parser, the Raft log and the HTTP API all use the same
// Go type, so a field added in structs appears on the wire without a second
// declaration that could drift. structs already carries Nomad's field names,
// so encoding these values with encoding/json yields the JSON shapes that
// Nomad's own clients (github.com/hashicorp/nomad/api) decode. The few types
// declared here are the ones that exist only at the HTTP edge: request bodies
// (which must not expose server-internal fields such as the evaluation a
// registration creates) and agent/operator responses.
//
// Map of the package:
//
//	client.go       Config, Client, NewClient; request plumbing
//	options.go      QueryOptions/QueryMeta, WriteOptions/WriteMeta
//	errors.go       StatusError and helpers
//	types.go        aliases of structs and HTTP-only request/response types
//	jobs.go         Jobs(): register, plan, validate, parse, list, info, ...
//	allocations.go  Allocations(): list, info, stop
//	allocations_client.go  Allocations(): restart, signal, stats (client endpoints)
//	exec.go         Allocations().Exec: the exec websocket
//	fs.go           AllocFS(): ls, stat, cat, readat, stream, logs; FrameStream
//	client_types.go wire types of the client endpoints (Nomad's shapes)
//	evaluations.go  Evaluations(): list, info, allocations
//	nodes.go        Nodes(): list, info, allocations, drain, eligibility
//	status.go       Status(): leader, peers
//	agent.go        Agent(): self, members, health
//	operator.go     Operator(): raft configuration
//	keyring.go      Operator().Keyring(): list and rotate identity keys
package api
