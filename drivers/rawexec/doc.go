// Package rawexec is the raw_exec task driver: it runs a command on the host
// with no isolation, as the client's user (or `user`), through an executor
// process so the task outlives the client.
//
// It is disabled unless its plugin config says `enabled = true`; a disabled
// driver fingerprints as undetected and the node gets no driver.raw_exec
// attribute.
//
// Map of the package:
//
//	config.go  plugin config and the task's driver config
//	driver.go  the Driver: fingerprint, start, recover, wait, stop, destroy
//	task.go    per-task bookkeeping: executor handle, exit waiter
//	exec.go    ExecTask: one-off commands in the task's environment
//	exec_streaming.go  ExecTaskStreaming: interactive `alloc exec` sessions
//	stats.go   TaskStats: memory and CPU of the task's session, from /proc
package rawexec
