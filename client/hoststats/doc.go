// Package hoststats reads a node's own usage (memory, CPUs, uptime, the disk
// of its alloc dir) from /proc and statfs, in the shape of Nomad's HostStats:
// /v1/client/stats serves it and /v1/metrics turns it into gauges.
package hoststats
