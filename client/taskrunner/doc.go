// Package taskrunner runs one task of an allocation: its hooks, the driver
// start, restarts per the restart block, kills, and re-attachment to a task
// that outlived the client.
//
// States and the events that move a task between them:
//
//	          Received
//	pending ─────────────► (waits for AllowStart: lifecycle ordering)
//	   │ prestart hooks (Task Setup), Driver.StartTask
//	   ▼ Started
//	running ── exits ──► Terminated ──► restart tracker:
//	   ▲                                  restart: Restarting → pending → (delay) → start
//	   │                                  fail:    Not Restarting → dead (Failed)
//	   │                                  done:    dead (batch success)
//	   ├── Restart (user): Restart Signaled → Terminated → Restarting → pending → start
//	   │                   (outside the restart policy, no delay)
//	   └── Kill: [reason event], Killing → [Waiting for shutdown delay] →
//	             Terminated → Killed → dead
//
// A runner that is shut down (client restart) leaves the task running and its
// handle persisted; a new runner built from the persisted state re-attaches
// through Driver.RecoverTask instead of starting the task again.
//
// Contexts: the runner has one context, ended by Kill, Shutdown and once the
// task is dead for good; Prestart, Poststart, Update and Driver.StartTask get
// it, so nothing blocked on it holds a kill up. PreKilling, Exited, Stop and
// Driver.StopTask/DestroyTask serve the kill, so their context ends only on
// Shutdown.
//
// Starts never outrun a kill or a shutdown. The run loop is the only
// goroutine that starts or stops the task; Kill and Shutdown signal it and
// wait for it. It persists the handle of every task it started before it
// looks at a kill or a shutdown again, and the driver either refuses a
// start whose context ended or finishes it (drivers.Driver). Hence:
//
//   - when Kill returns, no process the runner started runs, whichever start
//     was under way: the first, a restart by the restart policy, or a
//     Restart request (`alloc restart`, a template's change_mode, a check, a
//     network move, RestartAfterRecover);
//   - when Shutdown returns, a task left running is the one the persisted
//     handle names, a start that raced the shutdown included;
//   - a start whose handle cannot be persisted is undone (a recoverable start
//     failure): nothing could find that task after a client restart, and the
//     next runner would start a second copy;
//   - Kill persists the kill (LocalState.Kill) before the loop acts on it; a
//     runner restored from a client that shut down or crashed mid-kill
//     finishes the kill, and never re-attaches to let the task run on nor
//     restarts it.
//
// start_race_test.go holds StartTask after the process started (the widest
// window) and checks each of these by PID with raw_exec tasks.
//
// Adding a hook. A task hook is one new file, hook_<name>.go, with a type
// that has Name() and implements the stage interfaces of hooks.go it needs,
// plus one entry in the ordered list of initHooks with a comment saying why
// it sits there. Every request carries the Task, Lifecycle (restart, signal
// or kill this task; emit its events) and State (the hook's saved state,
// persisted in the task's LocalState, handed back after a client restart);
// Prestart also the TaskDir and the TaskEnv built so far, and may return env
// variables and events; Poststart the driver's handle; Exited the exit
// result; Update the new allocation. A re-attached task runs no Prestart or
// Poststart again: a hook finds what it did in State at its next stage, and
// a hook whose work goes on while the task runs resumes it in Reattached
// (the templates' watcher does; task services register again there, under
// the same IDs).
//
//	task services    hook_services.go, after templates: Poststart registers
//	                 the task's services (client/servicereg, IDs saved in
//	                 State), Reattached again after a client restart (same
//	                 IDs: no duplicates), and publishes them to
//	                 Config.ServiceInstances for the check runner;
//	                 PreKilling (before the task's shutdown_delay), Exited
//	                 and Stop deregister; Update re-registers.
//
//	connect proxy    hook_connect_proxy.go, after the identity: Prestart
//	                 writes the sidecar's file (mesh/proxy/sidecar.File)
//	                 into the private dir of a connect-proxy:<service> task
//	                 the servers injected; the connect_proxy driver starts
//	                 `roam connect proxy` from it (docs/mesh.md).
//
// Map of the package:
//
//	task_runner.go    TaskRunner: New, Run loop, start, wait, kill, restart decision
//	lifecycle.go      AllowStart, Kill, Shutdown, Update, Signal, EmitEvent: the
//	                  alloc runner's controls and the hooks' Lifecycle
//	state.go          task state and events, persistence
//	config.go         Config and the small interfaces the runner consumes
//	restarts.go       RestartTracker: the restart block
//	events.go         task event constructors and their display messages
//	hooks.go          hook interfaces, their requests, the ordered hook list (initHooks)
//	hook_run.go       running each hook stage
//	hook_state.go     HookState: a hook's saved state (alloc hooks use it too)
//	hook_task_dir.go  builds the task directory
//	hook_logs.go      creates the task's first log files
//	hook_identity.go  the workload identity: secrets/nomad_token, NOMAD_TOKEN,
//	                  CONSUL_HTTP_TOKEN for connect-native tasks
//	hook_artifacts.go fetches artifacts (client/artifact) before the first start
//	hook_templates*.go renders templates (package template) before the first
//	                  start; its watcher acts on changes (change_mode)
//	user_ops.go       Restart, Stats, Exec: what users ask of a running task
//	hook_volumes.go   volume_mount blocks → the driver's mounts
//	hook_services.go  registers the task's services while it runs
//	hook_resources.go AllocHookResources: what alloc hooks hand to tasks
package taskrunner
