// Package telemetry keeps an agent's counters and timing samples under
// Nomad's metric names ("nomad.raft.apply", "nomad.nomad.plan.evaluate"), for
// /v1/metrics to list beside the gauges it reads when scraped.
//
// A Registry belongs to one agent (two agents in one test process keep
// apart); the server and the client are handed it, and a nil *Registry
// records nothing, so code paths built without one need no checks. Values
// accumulate from the agent's start, as Prometheus expects of counters and
// summaries; the number of series is bounded.
//
//	registry.go   Registry: Incr, Observe, Since, Snapshot
package telemetry
