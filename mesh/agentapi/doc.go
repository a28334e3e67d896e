// Package agentapi reads a roam agent's Consul-shaped connect endpoints
// over HTTP, as both the built-in sidecar proxy and connect-native
// applications do: one request helper with blocking-query indexes, and the
// trust bundle and leaf certificate decoded for TLS. It holds no state of
// its own; callers keep what they read.
package agentapi
