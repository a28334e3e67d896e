// Package msgrpc is the wire of roam's server RPC: calls with MessagePack
// bodies (the same encoding as the Raft log, see internal/wire), a listener
// that shares one TCP port between RPC and Raft, and a client connection pool.
//
// Every connection to a server's RPC port starts with one byte that says what
// follows; the Mux reads it and hands the connection to the matching listener:
//
//	client ──TCP──▶ :4647 ──▶ Mux ──0x01──▶ Server.ServeConn (calls)
//	                              └─0x02──▶ Raft transport
//
// # TLS
//
// With the agent's tls { rpc = true } the whole port is TLS: the server
// wraps its listener (tls.NewListener) under the Mux, whose read of the
// type byte runs the handshake within handshakeTimeout, and Dialer (and a
// Pool made WithTLS) handshakes before writing the type byte. The type
// byte travels inside TLS, so nothing reaches a listener unauthenticated.
// What a verified peer may call is the server's to say, per connection:
// ServeConnGuarded runs a Guard before every call.
//
// # Why not net/rpc
//
// roam first used net/rpc with a MessagePack codec. It gives a call no
// context and sends an endpoint's error as bare text. So callers recovered
// an error's kind by matching its message, and a blocking query (up to ten
// minutes) kept its goroutine on the server, and the caller's on the client,
// after the caller had gone. Neither can be fixed from a net/rpc codec: the
// response header it hands a codec holds only the text, and its server
// calls methods with no context. net/rpc is also frozen. The call protocol
// here is small enough to own, keeps net/rpc's method shape
// (func(args *A, reply *R) error, so endpoints did not change) and adds the
// two missing pieces:
//
//   - Error kinds. An answer carries the endpoint error's kind beside its
//     message (KindedError); the caller gets a *RemoteError that errors.Is
//     matches with the sentinel of that kind (structs.ErrNotFound, ...).
//     Nothing reads a message to learn what went wrong.
//   - Cancellation. A call whose context ends returns at once and sends a
//     cancel frame; the server cancels that call's context, and every call's
//     when the connection closes. A request passes its context the way an
//     http.Request does: one with Context() is cancelled with it on the
//     caller's side, one with SetContext(ctx) receives the call's context on
//     the server (structs.QueryOptions has both, so every read is covered).
//
// # Frames
//
// A connection carries a stream of MessagePack values. The caller sends a
// request header (kind call, sequence number, method) followed by the args,
// or a header of kind cancel naming a sequence number. The server answers
// each call, in any order, with a response header (sequence number, error
// text, error kind) followed by the reply when there is no error. Calls run
// concurrently; answers are matched by sequence number.
//
//	caller                                   server
//	  │── call #7 "Job.GetJob" + args ─────────▶│ go run #7 (ctx₇)
//	  │── call #8 "Node.UpdateAlloc" + args ───▶│ go run #8
//	  │◀──────────────── answer #8 + reply ─────│
//	  │   (ctx of #7 ends: Call returns)        │
//	  │── cancel #7 ───────────────────────────▶│ cancel ctx₇
//	  │◀──── answer #7 (dropped by the caller) ─│
//
// Map of the package:
//
//	codec.go   frames: headers, the buffered MessagePack stream
//	server.go  Server: method table, in-process Call, ServeConn
//	client.go  Client: one connection, concurrent calls, cancel frames
//	errors.go  KindedError, RemoteError, the transport's sentinels
//	mux.go     first-byte connection multiplexer, Dial and Dialer (TLS)
//	pool.go    Pool: one Client per server address, reused, shared by
//	           concurrent calls and re-dialled after a failure
package msgrpc
