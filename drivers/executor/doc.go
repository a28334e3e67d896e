// Package executor is the small supervisor process that runs one task on behalf
// of a driver, so that tasks outlive the client agent.
//
// The executor is the roam binary itself, re-executed as `roam executor
// <spec.json>` in its own session. It starts the task in a new process group,
// copies the task's stdout and stderr into rotated log files, answers a few
// requests on a unix socket (signal, stop, wait, status), and when the task
// exits writes its exit status to a file and exits itself. For exec and java
// (Spec.Isolation) it first builds the task's cgroup, namespaces and root and
// starts the task through an init step (the binary again, `roam executor
// --init`) that enters them, drops privileges and execs the task; when the
// task exits it records OOM kills and removes the cgroup. A client that
// restarts re-attaches from the persisted Handle:
// it checks the executor is still the same process (PID plus start time) and
// talks to it again, or reads the recorded exit status if the task ended while
// no client was running.
//
//	client (driver)                      executor (roam executor spec.json)
//	  Launch ── fork/exec, setsid ──────►  read spec, listen on socket
//	         ◄── handshake on stdout ────  start task (setsid), log copiers
//	  Handle.Stop / Signal ── socket ───►  kill(-pgid, sig); SIGKILL after timeout
//	  Handle.Wait ────────── socket ───►  blocks until the task exits
//	                                       write status.json, answer waiters, exit
//
// Map of the package:
//
//	spec.go       Spec (what to run), ExitStatus, file names in the executor dir
//	main.go       Main: the executor process entry point cmd/roam must call
//	supervisor.go the executor's task supervision and socket server
//	logs.go       LogSpec and the rotator writing <task>.<stream>.<n>
//	exec.go       Handle.ExecStreaming: run a command beside a running task
//	exec_linux.go entering the task's namespaces and root; pseudo-terminals
//	protocol.go   the request/response messages on the socket
//	launch.go     Launch: start an executor from the client side
//	handle.go     Handle: persisted executor identity; Signal, Stop, Wait, Check
//	proc_linux.go process start times and liveness from /proc
//	isolation.go        Isolation, Mount: what an isolated task asks for
//	isolation_linux.go  starting an isolated task: cgroup, namespaces, the init step
//	init_linux.go       the init step: build the root, drop privileges, exec
//	rootfs_linux.go     the task's root: chroot_env, /alloc, volumes, /proc, /dev
//	caps_linux.go       bounding set, user and capabilities of the task
//
// executortest/ lets a test binary act as the executor.
package executor
