// Package proxy is roam's mesh data plane: the sidecar proxy that the
// `roam connect proxy` subcommand runs for one service of one allocation.
//
// One Proxy holds three kinds of listeners, all opened through Config.Listen
// (inside the allocation's network namespace in production):
//
//	public    mTLS (TLS 1.3 only), the <service>-sidecar-proxy address; the
//	          peer's certificate must chain to the current roots and carry a
//	          service SPIFFE ID, and the Authorizer must allow that service to
//	          call this one. Accepted streams go to the local app in plain TCP.
//	upstream  plain TCP on local_bind_address:local_bind_port; each
//	          connection goes, as one stream, to a healthy instance of the
//	          destination's sidecar proxy, whose certificate must name the
//	          destination service.
//	expose    plain HTTP on a listener port, forwarding exactly one path to a
//	          local port (health checks of mesh services).
//
// Between two roam proxies, application connections are streams of one
// long-lived mTLS connection per proxy pair (yamux, negotiated with ALPN
// "roam-mux/1"), so a new application connection costs no handshake. A
// peer that does not offer that protocol (a connect-native application, the
// Consul SDK) gets plain one-connection-per-stream mTLS.
//
// Where things come from is behind three small interfaces a caller provides:
// Certs (the leaf and roots now), Authorizer (may src call dst, and when
// decisions may have changed) and Resolver (the healthy instances of a
// destination). The proxy re-checks every open connection's pair when the
// Authorizer says decisions changed and closes the denied ones. A Certs
// that is also a CertsWatcher says when the leaf or roots changed: sessions
// made with an older leaf then take no new streams, and connections whose
// peer the new roots no longer trust are recycled after a grace period.
//
// With protocol http on a listener, the HTTP/1.1 requests and responses
// going by are read from a copy of the bytes and counted by status class
// and timed (http.go); the bytes themselves pass unchanged.
//
// Map of the package:
//
//	proxy.go     Config, Proxy: New, Run, Ready, drain on stop
//	identity.go  SPIFFE service IDs and peer certificate verification
//	tls.go       TLS 1.3 server and client configs over Certs
//	inbound.go   the public listener, authorization, connection tracking
//	upstream.go  upstream listeners, instance choice, retries
//	balancer.go  round robin with ejection of failing instances
//	pool.go      one multiplexed session per remote proxy, retired on a new leaf
//	http.go      Protocol, the HTTP/1.1 tap, request counts and latency
//	expose.go    plaintext expose-path listeners
//	metrics.go   counters per listener
package proxy
