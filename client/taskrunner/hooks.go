package taskrunner

import (
	"context"

	"github.com/roam-sh/roam/client/allocdir"
	"github.com/roam-sh/roam/client/taskenv"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
)

// TaskHook is the base of every task hook. A hook implements any of the
// one-method interfaces below; the runner calls each stage on the hooks that
// implement it, in the order of the list built by initHooks.
//
// Contracts for all stages: hooks run one at a time for a task (never
// concurrently with another stage of the same task), must honour ctx, and
// must be idempotent, because a restarted client runs them again.
//
// Contexts: Prestart, Poststart and Update get the runner's context, which
// ends when the task is killed, the runner shut down (client restart) or the
// task dead for good, so a stage blocked on it never holds a kill up.
// PreKilling, Exited and Stop are part of stopping the task and must not be
// cut short by the kill they serve: their context ends only when the client
// shuts down.
//
// Every request carries Lifecycle (the hook's own task: restart, signal,
// kill, emit events) and State (the hook's saved state, see HookState).
type TaskHook interface {
	Name() string
}

// Lifecycle is what a hook may do to its own task: a check watcher restarts
// it (check_restart), a template re-render signals or restarts it, and any
// hook may say what it did in the task's events. *TaskRunner implements it.
//
// Restart and Kill wait for the outcome, which the run loop produces: call
// them from a goroutine the hook owns (a watcher started in Poststart), never
// from inside a stage, which would wait on itself.
type Lifecycle interface {
	// Restart stops the running task and starts it again, outside its
	// restart policy; ev is the first event recorded.
	Restart(ctx context.Context, ev *structs.TaskEvent) error
	// Signal sends sig ("SIGHUP") to the running task; reason is shown in
	// the task's events.
	Signal(sig, reason string) error
	// Kill kills the task for good; ev says why (nil: a plain kill).
	Kill(ctx context.Context, ev *structs.TaskEvent) error
	// EmitEvent appends ev to the task's events.
	EmitEvent(ev *structs.TaskEvent)
}

// Prestarter runs before every start of the task (including restarts). An
// error fails the start; wrap it with drivers.NewRecoverableError to have the
// restart policy apply instead of failing the task at once.
type Prestarter interface {
	TaskHook
	Prestart(ctx context.Context, req *PrestartRequest, resp *PrestartResponse) error
}

// PrestartRequest is what a prestart hook sees.
type PrestartRequest struct {
	Alloc   *structs.Allocation
	Task    *structs.Task
	TaskDir *allocdir.TaskDir
	// TaskEnv is the environment built from everything before this hook.
	TaskEnv   *taskenv.TaskEnv
	Lifecycle Lifecycle
	State     *HookState
}

// PrestartResponse is what a prestart hook returns.
type PrestartResponse struct {
	// Env is merged into the task's environment (later hooks win).
	Env map[string]string
	// Events are appended to the task's events.
	Events []*structs.TaskEvent
}

// Poststarter runs after every successful start of the task.
type Poststarter interface {
	TaskHook
	Poststart(ctx context.Context, req *PoststartRequest) error
}

// PoststartRequest is what a poststart hook sees.
type PoststartRequest struct {
	Task      *structs.Task
	TaskEnv   *taskenv.TaskEnv
	Handle    *drivers.TaskHandle
	Lifecycle Lifecycle
	State     *HookState
}

// Reattacher runs when a restarted client re-attached to a task that a
// previous client process started: no Prestart or Poststart runs for it, so
// a hook whose work goes on while the task runs (a template watcher)
// resumes it here, from its State. It must not block on the task's data:
// start a goroutine the hook owns.
type Reattacher interface {
	TaskHook
	Reattached(ctx context.Context, req *ReattachRequest) error
}

// ReattachRequest is what a reattach hook sees.
type ReattachRequest struct {
	Alloc     *structs.Allocation
	Task      *structs.Task
	TaskDir   *allocdir.TaskDir
	TaskEnv   *taskenv.TaskEnv
	Lifecycle Lifecycle
	State     *HookState
}

// Exiter runs every time the task's process exits, before the restart
// decision (so a service check hook can deregister).
type Exiter interface {
	TaskHook
	Exited(ctx context.Context, req *ExitedRequest) error
}

// ExitedRequest is what an exited hook sees.
type ExitedRequest struct {
	Task      *structs.Task
	Result    *drivers.ExitResult
	Lifecycle Lifecycle
	State     *HookState
}

// PreKiller runs before the runner kills a running task (deregister services
// and wait out shutdown_delay).
type PreKiller interface {
	TaskHook
	PreKilling(ctx context.Context, req *PreKillRequest) error
}

// PreKillRequest is what a pre-kill hook sees.
type PreKillRequest struct {
	Task      *structs.Task
	Lifecycle Lifecycle
	State     *HookState
}

// Stopper runs once when the task is dead for good; it cleans up what the
// prestart hooks made. It may run without a prior Prestart.
type Stopper interface {
	TaskHook
	Stop(ctx context.Context, req *StopRequest) error
}

// StopRequest is what a stop hook sees.
type StopRequest struct {
	Task      *structs.Task
	Lifecycle Lifecycle
	State     *HookState
}

// Updater runs when the allocation is updated in place while the task runs.
type Updater interface {
	TaskHook
	Update(ctx context.Context, req *UpdateRequest) error
}

// UpdateRequest is what an update hook sees.
type UpdateRequest struct {
	Alloc     *structs.Allocation
	Task      *structs.Task
	TaskEnv   *taskenv.TaskEnv
	Lifecycle Lifecycle
	State     *HookState
}

// ShutdownHook runs when the client shuts down and leaves the task running.
// It gets no context: it must only stop the hook's own goroutines, quickly.
type ShutdownHook interface {
	TaskHook
	Shutdown()
}

// initHooks returns the task's hooks in the order they run. Order is data:
// each entry says why it sits where it does.
func (tr *TaskRunner) initHooks() []TaskHook {
	return []TaskHook{
		// The task directory first: every later hook and the driver write into
		// it, and it sets the host paths of NOMAD_TASK_DIR and friends.
		newTaskDirHook(tr.taskDir, tr.envBuilder, tr.logger),
		// Log files next, before anything (artifacts, templates) could fail and
		// want to say why, and before the driver opens them.
		newLogsHook(tr.taskDir, tr.logger),
		// The workload identity once secrets/ exists, and before artifacts
		// and templates: they will authenticate as the task with it.
		newIdentityHook(agentHTTPAddr(tr.cfg.Node), tr.logger),
		// Volume mounts before anything is downloaded: a volume the
		// allocation could not prepare fails the start right away.
		newVolumesHook(tr.cfg.HookResources, tr.cfg.Driver, func(m []*drivers.MountConfig) { tr.volumeMounts = m }, tr.logger),
		// The connect sidecar's configuration once secrets and the identity
		// exist, before anything that could take long: the driver starts the
		// proxy from it.
		newConnectProxyHook(agentHTTPAddr(tr.cfg.Node), tr.logger),
		// Artifacts need the task dir and the env (sources interpolate
		// NOMAD_* and meta); templates (later) may render from them.
		newArtifactsHook(tr.taskDir, tr.cfg.Artifacts, tr.logger),
		// The dispatch payload after artifacts (a payload file wins over an
		// artifact at the same path, as the job's input should) and before
		// templates, which may render from it.
		newDispatchPayloadHook(tr.cfg.AllocDir.Dir, tr.logger),
		// Templates need artifacts (a source may be one) and the env, and
		// authenticate with the identity; they render before the first
		// start, and env = true files join the task's environment.
		newTemplatesHook(tr.cfg.AllocDir.Dir, agentHTTPAddr(tr.cfg.Node), tr.cfg.Templates, tr, tr.logger),
		// Task services after templates: they register once the task runs
		// (Poststart) and deregister in PreKilling, before the task's
		// shutdown_delay, and when the process exits.
		newServicesHook(tr.cfg, tr.currentAlloc, tr.logger),
	}
}

// Compile-time checks that the hooks implement the stages they mean to.
var (
	_ Prestarter   = (*taskDirHook)(nil)
	_ Prestarter   = (*logsHook)(nil)
	_ Prestarter   = (*identityHook)(nil)
	_ Prestarter   = (*volumesHook)(nil)
	_ Prestarter   = (*connectProxyHook)(nil)
	_ Prestarter   = (*artifactsHook)(nil)
	_ Prestarter   = (*dispatchPayloadHook)(nil)
	_ Prestarter   = (*templatesHook)(nil)
	_ Reattacher   = (*templatesHook)(nil)
	_ PreKiller    = (*templatesHook)(nil)
	_ Stopper      = (*templatesHook)(nil)
	_ ShutdownHook = (*templatesHook)(nil)
	_ Poststarter  = (*servicesHook)(nil)
	_ Reattacher   = (*servicesHook)(nil)
	_ Updater      = (*servicesHook)(nil)
	_ PreKiller    = (*servicesHook)(nil)
	_ Exiter       = (*servicesHook)(nil)
	_ Stopper      = (*servicesHook)(nil)
)
