// Package meshproxy is the connect_proxy driver: it runs the mesh's sidecar
// proxy, which is the roam binary itself (`roam connect proxy`), for the
// proxy tasks the servers inject into connect groups. It is raw_exec with
// a fixed command: the executor starts the proxy in its own session, so
// the proxy outlives an agent restart and is re-attached like any task.
//
// Two differences from raw_exec: the proxy runs in the host's network
// namespace (it opens its listeners inside the allocation's namespace
// itself, and reaches the agent and other proxies from the host's), and
// StartTask returns only once the proxy's listeners are open (its ready
// file exists), so a task that starts after it finds its upstreams
// listening.
package meshproxy
