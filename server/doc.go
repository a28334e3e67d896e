// Package server is roam's control plane: a Raft-replicated state store, the
// RPC endpoints clients and the HTTP API call, and, on the leader, the
// machinery that turns jobs into placed allocations.
//
// How an evaluation flows, from a job registration to allocations a client
// runs:
//
//	Job.Register ──▶ raft.Apply(JobRegister: job + eval) ──▶ FSM ──▶ state store
//	                                                          │
//	                               leader observer: pending ──┴──▶ EvalBroker
//	                                                blocked ─────▶ BlockedEvals ──(capacity)──┐
//	                                                                   ▲                      │
//	 worker ◀── Dequeue(type) ◀── EvalBroker ◀─────────────────────────┼──────────────────────┘
//	   │  snapshot ≥ eval.ModifyIndex                                  │
//	   ▼                                                               │
//	 scheduler.Process(eval) ──SubmitPlan──▶ PlanQueue ──▶ plan applier│
//	   │          ▲                                        │ verify fit on latest state
//	   │          │                                        │ sign each task's identity
//	   │          └──── PlanResult (RefreshIndex if ◀──────┤ raft.Apply(ApplyPlanResults)
//	   │                 part was rejected)                ▼
//	   ├─ UpdateEval / CreateEval / ReblockEval ──▶ raft ──▶ FSM ──▶ state store
//	   ▼                                                         │
//	 Ack / Nack                                                  ▼
//	                           Node.GetClientAllocs (blocking) ──▶ client
//
// The FSM is deterministic. Applying an entry never reads the clock, random
// numbers or the environment and never generates IDs: the code that builds
// the entry stamps them (Node.Register the node's StatusUpdatedAt,
// Node.UpdateAlloc a client update's ModifyTime, the plan applier the
// UpdatedAt that dates a plan's allocations, endpoints and the leader the
// evaluations' times and IDs and the node events), and the entry carries
// them. Why: every server applies the same log; the day a second server
// does, or restores a snapshot and applies the rest, it must end with the
// leader's state. TestFSMApplyIsDeterministic replays a real server's log
// into two FSMs in lockstep, one restored from a snapshot half-way, with
// the clock 36 hours apart, and compares every table and index after each
// entry; TestApplyCodeReadsNoClockOrRandomness parses fsm*.go and state/
// and fails on time.Now, rand or GenerateUUID there.
//
// Map of the package:
//
//	server.go          Server: NewServer, Shutdown, accessors
//	config.go          Config and its defaults
//	raft.go            Raft setup (BoltDB log, file snapshots, transport on the
//	                   RPC port), bootstrap, raftApply; raft_log.go adapts logs
//	fsm.go             the FSM: apply dispatch, snapshot/restore, applied index;
//	fsm_apply.go       one apply function per log entry type (deterministic,
//	                   see above)
//	rpc.go             endpoint registry, in-process RPC, TCP serving,
//	                   forwarding to the leader, blocking queries (a default
//	                   read is answered by a leader that verified it still
//	                   leads; ?stale by any server), which end
//	                   with their caller: see internal/msgrpc for why the
//	                   transport is roam's own and not net/rpc)
//	tls.go             mutual TLS on the RPC port (Config.TLS): the TLS
//	                   listener, the dialers, server-only endpoints and
//	                   Raft refused to client certificates
//	filter.go          go-bexpr filters and pagination of lists
//	errors.go          CodedError and ErrorCode (HTTP status); the sentinels
//	                   are in structs, their kind crosses the RPC wire
//	endpoint_*.go      Job, Alloc, Eval, Node, Status, ServiceRegistration,
//	                   Keyring RPCs
//	keyring.go         the identity keyring on the leader: create, rotate,
//	                   collect keys (generated here, only stored by the FSM)
//	identity.go        workload identities: signed by the plan applier,
//	                   checked by VerifyIdentity, the one entry point for
//	                   authorising a task (service registration now; mesh CA,
//	                   variables and templates later)
//	admission.go       job admission: the ordered mutators and validators every
//	                   job passes in Job.Register, Job.Plan, Job.Validate and
//	                   Job.Revert;
//	                   a new admission step is one type and one list entry
//	leader.go          leadership: leaderDuties, the one ordered list of what
//	                   the leader runs (each with start/stop), restore from
//	                   state, the FSM observer, failed/duplicate eval reapers
//	periodic.go        the periodic launcher (a leader duty) and Periodic.Force;
//	                   endpoint_job_dispatch.go: Job.Dispatch
//	membership.go      forming the cluster: hellos (retry_join, server join),
//	                   refusals (region, another cluster, bootstrap_expect),
//	                   bootstrap, adding servers, members and their status;
//	                   membership is Raft's configuration (docs/cluster.md)
//	autopilot.go       a leader duty: server health, promoting stable
//	                   non-voters, removing dead servers
//	endpoint_operator.go  Membership.* (server to server) and Operator.*
//	                   (raft configuration, remove-peer, health, snapshots)
//	snapshot.go        consistent snapshot save and restore through Raft (the
//	                   archive format is structs/snapshot_archive.go)
//	eval_broker.go     EvalBroker: ready queues, one eval per job, ack/nack
//	blocked_evals.go   BlockedEvals: evals waiting for capacity
//	worker.go          scheduling workers and their Planner
//	plan_queue.go      PlanQueue; plan_apply.go the plan applier
//	heartbeat.go       client heartbeat timers, node down handling
//	alloc_update_batch.go  coalescing of client allocation updates
//	drainer.go         node drains
//	core_gc.go         garbage collection of evals, allocs, jobs, nodes and deployments
package server
