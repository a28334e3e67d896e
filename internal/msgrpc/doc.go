// Package msgrpc is the wire of roam's server RPC: net/rpc with MessagePack
// bodies (the same encoding as the Raft log, see internal/wire), a listener
// that shares one TCP port between RPC and Raft, and a client connection pool.
//
// Every connection to a server's RPC port starts with one byte that says what
// follows; the Mux reads it and hands the connection to the matching listener:
//
//	client ──TCP──▶ :4647 ──▶ Mux ──0x01──▶ net/rpc server (msgpack codec)
//	                              └─0x02──▶ Raft transport
//
// Map of the package:
//
//	codec.go  net/rpc server and client codecs over MessagePack
//	mux.go    first-byte connection multiplexer and Dial
//	pool.go   Pool: one multiplexed rpc.Client per server address, reused,
//	          shared by concurrent calls and re-dialled after a failure
package msgrpc
