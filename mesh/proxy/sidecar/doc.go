// Package sidecar is the `roam connect proxy` process: it reads the file
// the client's proxy hook wrote for one sidecar task, builds the proxy's
// Certs, Authorizer and Resolver over the local agent's Consul-shaped HTTP
// endpoints (authenticated with the task's workload identity), opens the
// listeners inside the allocation's network namespace and runs the proxy
// until it is signalled, then drains.
//
// The process runs in the host's network namespace: it reaches the agent
// on its own address (loopback included) and the other proxies on their
// registered host ports, while every listener sits inside the allocation's
// namespace (netns.Listen), where the application sees it on localhost.
//
//	file.go    File: what the client hook writes, what the process reads
//	agent.go   the agent's HTTP endpoints as Certs, Authorizer, Resolver
//	main.go    Main: flags, namespace listeners, ready file, signals
package sidecar
