// Package apitest starts a real roam server in-process with the HTTP API in
// front of it, for the tests of httpapi, api and cli. Nothing is mocked: jobs
// go through Raft, the real schedulers place them on simulated nodes
// registered over RPC (there is no client agent, so allocations stay
// "pending" on their nodes).
//
// Map of the package:
//
//	apitest.go  Start, Cluster (server + httptest server), simulated nodes, jobs
//	agent.go    Agent: an httpapi.AgentInfo backed by the server
//	live.go     LiveAgent: a whole agent (server + client running tasks) in-process
package apitest
