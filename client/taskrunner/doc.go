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
// Map of the package:
//
//	task_runner.go    TaskRunner: New, Run loop, start, wait, kill, restart decision
//	lifecycle.go      AllowStart, Kill, Shutdown, Update, Signal: the alloc runner's controls
//	state.go          task state and events, persistence
//	config.go         Config and the small interfaces the runner consumes
//	restarts.go       RestartTracker: the restart block
//	events.go         task event constructors and their display messages
//	hooks.go          hook interfaces and the ordered hook list (initHooks)
//	hook_run.go       running each hook stage
//	hook_task_dir.go  builds the task directory
//	hook_logs.go      creates the task's first log files
//	hook_artifacts.go fetches artifacts (client/artifact) before the first start
//	user_ops.go       Restart, Stats, Exec: what users ask of a running task
//	hook_volumes.go   volume_mount blocks → the driver's mounts
//	hook_resources.go AllocHookResources: what alloc hooks hand to tasks
package taskrunner
