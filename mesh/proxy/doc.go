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
// # How two proxies talk
//
// Between two roam proxies, application connections are streams of one
// long-lived mTLS connection per proxy pair and destination (mux.go,
// negotiated with ALPN "roam-mux/3"), so a new application connection
// costs one frame, not a handshake. The multiplexer is roam's own, shaped
// by what a proxy spends its CPU on, the cost of one message:
//
//	app ──▶ copier goroutine ──frame──▶ TLS conn ══▶ session reader ──▶ app
//	        (reads the app,                          (writes into the
//	         queues the frame,                         destination socket,
//	         flushes the queue                         one non-blocking try)
//	         unless another
//	         copier is writing)
//
// One goroutine is woken per message on each proxy: the copier that read
// it from the application writes the frame itself (no send loop; when
// another copier is writing, that one takes the frame along in its write,
// so a busy session's streams share TLS records and system calls, and the
// TLS connection's socket gets one write(2) per flush, batchconn.go), and the
// session reader that read it off TLS writes it to the destination socket
// itself (no hand-over to a copier). What the socket does not take at once
// is buffered and written by the stream's drainer, in order. Per-stream
// credit (1 MiB in flight) means a stalled application holds its own
// window and never the session reader; session credit (16 MiB in flight
// across all streams, returned as buffered bytes reach the application)
// bounds what one session can make a proxy buffer, however many streams a
// caller opens (1 MiB times 8,192 streams would be 8 GiB). Since a
// stream's window is smaller than the session's, 16 stalled applications
// stall the rest of their session until one reads; sessions are per pair
// of proxies and destination, so only that caller waits. The public
// listener takes at most 128 connections from one peer address
// (Config.MaxConnsPerPeer). The answers a peer asks for
// (pongs, resets of refused opens, credits) are coalesced and capped at
// 32,768 per write of ours: a peer that keeps asking without reading
// them has its session closed, so it cannot grow the proxy's memory.
// yamux, used before, handed every message between three goroutines per
// proxy (copier, send loop, receive loop); a profile then showed 15-22 %
// of the proxies' time in futex wake-ups and 50-60 % in system calls.
//
// The other shape the issue allows, one TLS connection per application
// connection with TLS 1.3 session resumption, was built and measured: a
// resumed handshake still costs a TCP connect, an X25519 (and ML-KEM)
// key exchange per side and a new ticket, which made the proxies' CPU per
// new-connection request four times that of a stream (docs/mesh.md,
// Benchmarks).
//
// A dead peer is noticed within seconds, so the pool stops handing out
// its session and new application connections go to another instance: a
// session silent for 5 s pings, and closes when 5 s more bring no frame
// (10-15 s in all). The ping is what notices a peer proxy that is stopped
// or wedged, whose kernel keeps ACKing so TCP sees nothing wrong; on both
// ends of each proxy-to-proxy socket TCP_USER_TIMEOUT (10 s of
// unacknowledged data) and keepalive probes (idle 15 s) let the kernel
// abort a connection to a vanished host as well (keepalive.go).
//
// A peer that does not offer "roam-mux/3" (a connect-native application,
// the Consul SDK) gets plain one-connection-per-stream mTLS; so does a
// proxy of the previous version, whose "roam-mux/2" had no session window
// (a new server does not select it; an old server offered only
// "roam-mux/3" and "roam-mux/1" selects neither). A proxy of an earlier
// version offers and selects "roam-mux/1" (yamux): a new server
// then ignores ALPN and serves it plain, and a new client that sees it
// selected connects again without ALPN.
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
// Every stream a caller opens becomes a connection to the application, so
// the public listener admits it against InboundLimits before dialling:
// 1,024 per session, 4,096 per calling service, 8,192 in all; past a cap
// the stream is reset, counted and logged (once a minute per cap). A
// connection that carries nothing either way for an hour is closed at
// both ends. A stream's buffer above 4 KiB is released once drained, so
// the memory a session holds follows what its window counts.
//
// With protocol http on a listener, the HTTP/1.1 requests and responses
// going by are read from a copy of the bytes and counted by status class
// and timed (http.go); the bytes themselves pass unchanged.
//
// Map of the package:
//
//	proxy.go     Config, Proxy: New, Run, Ready, drain on stop
//	tls.go       TLS 1.3 server and client configs over Certs, peer checks
//	inbound.go   the public listener, authorization, connection tracking
//	limits.go    InboundLimits: caps on connections to the app, idle close
//	upstream.go  upstream listeners, instance choice, retries
//	balancer.go  round robin with ejection of failing instances
//	pool.go      one multiplexed session per remote proxy, retired on a new leaf
//	mux.go       the multiplexer: sessions, streams, frames, credit
//	keepalive.go TCP_USER_TIMEOUT and keepalive on proxy-to-proxy sockets
//	pipe.go      copying both ways with half-closes, pooled buffers
//	http.go      Protocol, the HTTP/1.1 tap, request counts and latency
//	expose.go    plaintext expose-path listeners
//	metrics.go   counters per listener
package proxy
