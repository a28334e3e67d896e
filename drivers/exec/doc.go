// Package exec is the exec task driver: it runs a command isolated from the
// host, through an executor process so the task outlives the client. The
// java driver is the same Driver with another Flavor (drivers/java).
//
// What isolation means here, all set up by the executor before the task's
// first instruction (see drivers/executor/isolation_linux.go):
//
//   - its own cgroup with the task's CPU shares, reserved cores and memory
//     limit (internal/cgroups, v1 or v2), which also tells OOM kills apart;
//   - new mount, PID, IPC and UTS namespaces (pid_mode and ipc_mode may
//     share the host's), joining the allocation's network namespace if any;
//   - a root built in the task dir: chroot_env host paths bind-mounted
//     read-only, /alloc, /local, /secrets, /tmp, host volumes, a fresh /proc
//     and a minimal /dev;
//   - the task's user (nobody by default) without supplementary groups, and
//     a bounded capability set (container defaults for root, none for
//     others, plus cap_add, minus cap_drop, within the client's allow_caps).
//
// The driver needs root, namespaces and the cgroup controllers; without them
// it fingerprints as undetected or unhealthy and says why.
//
// Map of the package:
//
//	config.go       plugin config, task config, the Options java shares, chroot_env
//	caps.go         capability names, the default set, cap_add/cap_drop/allow_caps
//	driver.go       Driver and Flavor: start, recover, wait, stop, destroy, signal
//	fingerprint.go  whether this host can isolate tasks
//	task.go         per-task bookkeeping: executor handle, cgroup, exit waiter
//	stats.go        TaskStats from the task's cgroup
//	exec.go         ExecTask and ExecTaskStreaming inside the task
package exec
