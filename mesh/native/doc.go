// Package native lets a Go application serve and dial over roam's service
// mesh itself, without a sidecar proxy (a `connect { native = true }`
// service, Consul's "Connect native").
//
// A Service takes its identity from the local agent's Consul-shaped
// endpoints, the same ones roam's sidecar proxy and Consul's Connect SDK
// read:
//
//	GET  /v1/agent/connect/ca/roots           the trust bundle (blocking)
//	GET  /v1/agent/connect/ca/leaf/:service   its leaf and key (blocking)
//	POST /v1/agent/connect/authorize          may this client call me
//	GET  /v1/health/connect/:service?passing  where the destination listens
//
// Both watches are blocking queries, so a renewed leaf or a rotated root
// is used from the next handshake on while open connections carry on,
// except those whose peer chain the new roots no longer trust (a root
// pruned after a rotation): they are closed after a grace.
//
// Map:
//
//	service.go  Config, New, Ready, Close; the roots and leaf watches
//	tls.go      ServerTLSConfig (SPIFFE check + authorize), client config
//	dial.go     Dial: resolve through the catalog, round robin, mTLS
//	recycle.go  open connections' peer chains, rechecked on a roots change
//	agent.go    the agent's HTTP API as this package uses it
package native
