// Package allocrunner runs one allocation on the client: its allocation hooks
// (alloc dir and host volumes today; network and group services later), one
// taskrunner.TaskRunner per task, the lifecycle ordering between them, and the
// client status it reports.
//
// Reactions to task deaths, all driven by one coordinator goroutine that wakes
// on every task state change:
//
//	a task failed          → kill the others ("Sibling Task Failed")
//	the leader died        → kill the others ("Leader Task Dead")
//	every main task died   → kill sidecars and poststart tasks ("Main Tasks Dead")
//	all but poststop dead  → start poststop tasks
//
// Stopping (the servers set desired status stop) kills tasks in the phases of
// killPhases: leader, then main and one-shot lifecycle tasks, then sidecars;
// poststop tasks run afterwards. Destroy also kills poststop tasks, runs the
// destroy hooks in reverse order and deletes the allocation's local state.
// Shutdown (client restart) leaves every task running.
//
// Map of the package:
//
//	alloc_runner.go   AllocRunner: New, Run, the coordinator, accessors
//	control.go        Update, stop, Destroy, Shutdown, Signal; hook stages
//	lifecycle.go      lifecycle gates and kill phases (pure, table-tested)
//	status.go         ClientStatus: the alloc's status from its tasks' states
//	hooks.go          hook interfaces and the ordered hook list (initHooks)
//	alloc_dir_hook.go builds and destroys the allocation directory
//	shutdown_delay_hook.go waits out the group's shutdown_delay before kills
//	user_ops.go       RestartTasks, TaskStats, ExecTask, TaskNames
//	volume_hook.go    resolves the group's host volumes against the node
//	config.go         Config and the small interfaces the runner consumes
package allocrunner
