// Package rpcmethod names the server's RPC methods, "Receiver.Method", once:
// the server registers an endpoint under each (server/rpc.go) and every caller
// (client, agent, HTTP API, forwarding to the leader, tests) names the method
// by its constant, so a typo fails to compile instead of failing a call.
//
// It sits under internal/ and imports nothing, so that client and server,
// which may not import each other, can both use it. A test in server checks
// that the constants and the server's endpoint table list the same methods.
package rpcmethod
