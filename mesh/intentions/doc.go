// Package intentions decides which service may open connections to which
// (docs/mesh.md).
//
//	match.go   Precedence (Consul's nine levels), Normalize, Sort, Match
//	set.go     Set: an immutable evaluated snapshot; Cache: a node's copy
//	           kept fresh by blocking queries, with Subscribe for the proxy
//	entry.go   the service-intentions config entry, a view of intentions
//	           grouped by destination
//
// Intentions are data replicated by the servers; evaluation happens on each
// node from its cache, at connection accept (proxy) or TLS handshake
// (connect-native applications through /v1/agent/connect/authorize).
package intentions
