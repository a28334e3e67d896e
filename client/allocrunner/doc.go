// Package allocrunner runs one allocation on the client: its allocation hooks
// (alloc dir, host volumes, group network, deployment health, checks, group
// services, shutdown_delay), one
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
// Shutdown (client restart) leaves every task running. A Shutdown that cuts
// a Destroy's kills short leaves the state, directory and network of tasks
// not yet dead in place: their persisted handles and kills let the next
// client finish the kills and destroy the allocation again.
//
// The runner has one context, ended by a stop, Destroy or Shutdown; Prerun
// and Update get it, so a stage blocked on it never holds those up. The
// stages that stop the allocation (PreKill, Postrun, Destroy) get a context
// that only Shutdown ends.
//
// Adding a hook. An allocation hook is one new file, <name>_hook.go, with a
// type that has Name() and implements the stage interfaces of hooks.go it
// needs, plus one entry in the ordered list of initHooks with a comment
// saying why it sits there. Each stage gets a request that embeds
// HookRequest: Alloc (latest version), Env (the allocation's environment, to
// interpolate names and tags), Network (the group network, once the network
// hook ran), Lifecycle (restart, signal or kill tasks by name; emit task
// events) and State (the hook's saved state, which survives a client
// restart). Group services and the check runner:
//
//	group services    services_hook.go, after the network and checks hooks:
//	                  Running (every main task runs) registers, with names
//	                  from req.Env.Interpolate and addresses from
//	                  req.Network, saving the IDs in req.State so a
//	                  restarted client finds them; Update and NetworkMoved
//	                  re-register; PreKill deregisters (before
//	                  shutdown_delay); Postrun and Destroy remove what is
//	                  left. The work is client/servicereg's Registrar.
//	check runner      checks_hook.go, before the group services hook: it
//	                  follows the instances the services hooks publish
//	                  (ar.ServiceInstances()) and runs their checks
//	                  (services/checks), reporting changes with
//	                  Config.Services.UpdateHealth, batched, and restarting
//	                  tasks through req.Lifecycle; PreKill stops checking
//	                  before the services deregister. A namespace made anew
//	                  at the same path needs nothing: every probe opens the
//	                  path again.
//
//	deployment health health_hook.go, before the checks hook: for an
//	                  allocation a deployment placed, it watches the task
//	                  states, the published instances and the checks hook's
//	                  statuses (checkStatuses), decides Healthy once
//	                  (health.go, a pure verdict), saves it in req.State and
//	                  hands it to the runner, which reports it with the
//	                  client state; PreKill stops judging first.
//
// Task hooks (a sidecar proxy, templates) go in the task runner's list
// (client/taskrunner/doc.go). A hook that must follow a namespace made anew
// implements NetworkMover instead of the runner knowing its type.
//
// Map of the package:
//
//	alloc_runner.go   AllocRunner: New, Run, the coordinator, accessors
//	control.go        Update, stop, Destroy, Shutdown, Signal
//	lifecycle.go      lifecycle gates and kill phases (pure, table-tested)
//	status.go         ClientStatus: the alloc's status from its tasks' states
//	hooks.go          hook interfaces, their requests, the ordered hook list (initHooks)
//	hook_run.go       running each hook stage; the request every stage gets
//	task_lifecycle.go Lifecycle: what hooks may do to the tasks, by name
//	alloc_dir_hook.go builds and destroys the allocation directory
//	network_hook.go   the group's network namespace; NetworkMoved
//	services_hook.go  registers the group's services once its main tasks run
//	shutdown_delay_hook.go waits out the group's shutdown_delay before kills
//	user_ops.go       RestartTasks, TaskStats, ExecTask, TaskNames
//	volume_hook.go    resolves the group's host volumes against the node
//	checks_hook.go    runs the service checks, reports changes, check_restart
//	health_hook.go    decides an allocation's health in its deployment
//	health.go         the health verdict (pure, table-tested)
//	notifier.go       wakes watchers of task states and check statuses
//	config.go         Config and the small interfaces the runner consumes
package allocrunner
