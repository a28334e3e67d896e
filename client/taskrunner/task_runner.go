package taskrunner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/roam-sh/roam/client/allocdir"
	"github.com/roam-sh/roam/client/taskenv"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
)

// TaskRunner runs one task of an allocation through its whole life: hooks,
// driver start, restarts per the restart block, kill, and re-attachment after a
// client restart.
type TaskRunner struct {
	cfg        Config
	allocID    string
	taskName   string
	logger     *slog.Logger
	taskDir    *allocdir.TaskDir
	envBuilder *taskenv.Builder
	// rejoinEv, when set, restarts a re-attached task (RestartAfterRecover).
	rejoinEv    *structs.TaskEvent
	hooks       []TaskHook
	restarts    *RestartTracker
	killTimeout time.Duration

	// hookMu serialises hook stages, as the hook contract promises.
	hookMu sync.Mutex
	// ctx is the runner's context (hooks.go): it ends on Kill, Shutdown and
	// once Run returned. teardownCtx serves the stages and driver calls that
	// stop the task, so it ends only on Shutdown and once Run returned.
	ctx            context.Context
	cancel         context.CancelFunc
	teardownCtx    context.Context
	teardownCancel context.CancelFunc
	hookStates     *HookStates
	// volumeMounts are set by the volumes hook's Prestart, read by the start
	// that follows it (both on the Run goroutine).
	volumeMounts []*drivers.MountConfig
	// allocMu guards alloc and task, replaced by Update.
	allocMu sync.RWMutex
	alloc   *structs.Allocation
	task    *structs.Task

	stateMu sync.Mutex
	state   *structs.TaskState
	local   *LocalState
	// persistMu orders writes of local (handle, hook states) to the state
	// DB, so an older copy never lands after a newer one.
	persistMu sync.Mutex

	startCh      chan struct{} // closed by AllowStart
	startOnce    sync.Once
	killCh       chan struct{} // closed by Kill
	killOnce     sync.Once
	killEv       *structs.TaskEvent
	shutdownCh   chan struct{} // closed by Shutdown: leave the task running
	restartCh    chan *restartRequest
	shutdownOnce sync.Once
	waitCh       chan struct{} // closed when Run returns
}

// New builds a task runner; Run starts it.
func New(cfg Config) (*TaskRunner, error) {
	if cfg.Alloc == nil || cfg.Task == nil || cfg.AllocDir == nil || cfg.StateDB == nil || cfg.Updater == nil {
		return nil, errors.New("task runner: alloc, task, alloc dir, state DB and updater are required")
	}
	if cfg.HookResources == nil {
		cfg.HookResources = &AllocHookResources{}
	}
	tr := &TaskRunner{
		cfg: cfg, allocID: cfg.Alloc.ID, taskName: cfg.Task.Name,
		logger:  cfg.Logger.With("component", "task_runner", "task", cfg.Task.Name),
		taskDir: cfg.AllocDir.TaskDir(cfg.Task.Name),
		alloc:   cfg.Alloc, task: cfg.Task,
		restarts:    NewRestartTracker(restartPolicy(cfg.Alloc, cfg.Task), jobType(cfg.Alloc), cfg.Task.Lifecycle),
		killTimeout: killTimeout(cfg.Task.KillTimeout, cfg.MaxKillTimeout),
		local:       cfg.RestoredLocal.Copy(),
		startCh:     make(chan struct{}), killCh: make(chan struct{}),
		shutdownCh: make(chan struct{}), waitCh: make(chan struct{}),
		restartCh: make(chan *restartRequest),
	}
	if tr.local == nil {
		tr.local = &LocalState{}
	}
	tr.ctx, tr.cancel = context.WithCancel(context.Background())
	tr.teardownCtx, tr.teardownCancel = context.WithCancel(context.Background())
	tr.hookStates = NewHookStates(tr.local.Copy().HookState, tr.saveHookState)
	tr.envBuilder = taskenv.NewBuilder(cfg.Node, cfg.Alloc, cfg.Task, cfg.Region).SetHostEnv(cfg.HostEnv, cfg.EnvDenylist)
	if cfg.Driver != nil {
		tr.envBuilder.SetFSIsolation(cfg.Driver.Capabilities().FSIsolation)
	}
	tr.hooks = tr.initHooks()
	if ev := tr.local.Kill; ev != nil {
		// A previous client process was asked to kill this task and did not
		// see it dead: finish that kill, never re-attach to let it run.
		tr.killOnce.Do(func() { tr.markKilled(copyEvent(ev)) })
	}
	if cfg.RestoredState != nil {
		tr.state = copyTaskState(cfg.RestoredState)
	} else {
		tr.state = &structs.TaskState{State: structs.TaskStatePending}
		tr.appendEvent(eventReceived())
	}
	return tr, nil
}

func restartPolicy(a *structs.Allocation, t *structs.Task) *structs.RestartPolicy {
	if t.RestartPolicy != nil {
		return t.RestartPolicy
	}
	if tg := a.LookupTaskGroup(); tg != nil && tg.RestartPolicy != nil {
		return tg.RestartPolicy
	}
	return structs.DefaultRestartPolicy(jobType(a))
}

func jobType(a *structs.Allocation) structs.JobType {
	if a.Job == nil {
		return structs.JobTypeService
	}
	return a.Job.Type
}

func killTimeout(d, max time.Duration) time.Duration {
	if d <= 0 {
		d = structs.DefaultKillTimeout
	}
	if max > 0 && d > max {
		d = max
	}
	return d
}

// step is what the run loop does next.
type step int

const (
	stepContinue step = iota // go on: the task runs, or restarts
	stepDead                 // the task is dead for good
	stepShutdown             // the client is shutting down: leave things as they are
	stepRestart              // restarted on request: start again at once, outside the policy
)

// Run runs the task until it is dead for good or the runner is shut down. It
// is called once, in its own goroutine; WaitCh closes when it returns.
func (tr *TaskRunner) Run() {
	defer close(tr.waitCh)
	defer tr.teardownCancel()
	defer tr.cancel()
	if tr.isDead() {
		return
	}
	attached := tr.recoverHandle()
	// A re-attached task that is being killed (a kill a previous client
	// process did not finish) resumes nothing: the loop kills it at once.
	if attached && !tr.killed() {
		tr.reattached()
		if tr.rejoinEv != nil {
			go tr.restartRecovered(tr.rejoinEv)
		}
	}
	if !attached {
		if s := tr.waitForStart(); s != stepContinue {
			tr.end(s)
			return
		}
	}
	for {
		if !attached {
			if s := tr.start(); s != stepContinue {
				tr.end(s)
				return
			}
			if tr.handle() == nil {
				continue // the start failed and the restart delay passed
			}
		}
		attached = false
		res, s := tr.wait()
		switch s {
		case stepContinue:
			s = tr.afterExit(res)
		case stepRestart:
			s = stepContinue
		}
		if s != stepContinue {
			tr.end(s)
			return
		}
	}
}

// restartRecovered restarts a re-attached task (RestartAfterRecover).
func (tr *TaskRunner) restartRecovered(ev *structs.TaskEvent) {
	if err := tr.Restart(tr.ctx, ev); err != nil {
		tr.logger.Warn("restarting a re-attached task", "error", err)
	}
}

// recoverHandle re-attaches to a task a previous client process started.
func (tr *TaskRunner) recoverHandle() bool {
	h := tr.handle()
	if h == nil {
		return false
	}
	if tr.cfg.Driver == nil {
		tr.logger.Error("cannot re-attach: driver not available", "driver", tr.task.Driver)
		return false
	}
	if err := tr.cfg.Driver.RecoverTask(h); err != nil {
		tr.logger.Error("re-attaching to task failed; starting it again", "error", err)
		ev := structs.NewTaskEvent(structs.TaskDriverMessage)
		ev.DriverMessage = fmt.Sprintf("failed to re-attach to task: %v", err)
		ev.Message = ev.DriverMessage
		_ = tr.setHandle(nil)
		tr.appendEvent(ev)
		return false
	}
	tr.logger.Info("re-attached to task", "task_id", h.Config.ID)
	return true
}

func (tr *TaskRunner) waitForStart() step {
	select {
	case <-tr.startCh:
		// A kill that raced with the start wins: select picks at random.
		if tr.killed() {
			tr.killedBeforeStart()
			return stepDead
		}
		return stepContinue
	case <-tr.killCh:
		tr.killedBeforeStart()
		return stepDead
	case <-tr.shutdownCh:
		return stepShutdown
	}
}

// start runs the prestart hooks and starts the task. It returns stepContinue
// both when the task started and when a restart delay after a failed start
// passed (then no handle is set).
func (tr *TaskRunner) start() step {
	if err := tr.prestart(); err != nil {
		if s, ok := tr.interrupted(); ok {
			return s
		}
		tr.logger.Error("prestart failed", "error", err)
		if !hasEvent(err) {
			tr.appendEvent(eventSetupFailureFor(err))
		}
		return tr.decide(tr.restarts.OnStartError(err))
	}
	if tr.killed() {
		tr.killedBeforeStart()
		return stepDead
	}
	if tr.cfg.Driver == nil {
		err := fmt.Errorf("driver %q is not available on this node", tr.task.Driver)
		tr.appendEvent(eventDriverFailure(err))
		return tr.decide(DecisionFail, ReasonUnrecoverable, 0)
	}
	h, err := tr.cfg.Driver.StartTask(tr.ctx, tr.buildTaskConfig())
	if err != nil {
		if s, ok := tr.interrupted(); ok {
			return s
		}
		tr.logger.Error("driver failed to start task", "error", err)
		tr.appendEvent(eventDriverFailure(err))
		return tr.decide(tr.restarts.OnStartError(err))
	}
	if err := tr.setHandle(h); err != nil {
		// A task whose handle is not on record outlives a client restart
		// with nothing to find it, and the next runner would start a second
		// copy: undo the start and let the restart policy try again.
		tr.undoStart(h)
		tr.appendEvent(eventDriverFailure(err))
		return tr.decide(tr.restarts.OnStartError(drivers.NewRecoverableError(err)))
	}
	tr.updateState(structs.TaskStateRunning, eventStarted())
	tr.poststart(h)
	return stepContinue
}

// interrupted reports what to do when a start was cut short because the
// runner's context ended: a killed task is dead (not failed), a shut-down
// runner leaves things as they are.
func (tr *TaskRunner) interrupted() (step, bool) {
	switch {
	case tr.killed():
		tr.killedBeforeStart()
		return stepDead, true
	case tr.isShutdown():
		return stepShutdown, true
	}
	return stepContinue, false
}

func (tr *TaskRunner) isShutdown() bool {
	select {
	case <-tr.shutdownCh:
		return true
	default:
		return false
	}
}

func eventSetupFailureFor(err error) *structs.TaskEvent {
	ev := eventSetupFailure(err)
	ev.FailsTask = false // the restart decision says whether it fails the task
	return ev
}

// wait blocks until the task exits, is killed, or the runner shuts down.
func (tr *TaskRunner) wait() (*drivers.ExitResult, step) {
	h := tr.handle()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := tr.cfg.Driver.WaitTask(ctx, h.Config.ID)
	if err != nil {
		return &drivers.ExitResult{ExitCode: -1, Err: fmt.Errorf("wait for task: %w", err)}, stepContinue
	}
	select {
	case res, ok := <-ch:
		if !ok {
			return nil, stepShutdown
		}
		return res, stepContinue
	case <-tr.killCh:
		return tr.kill(h, ch)
	case req := <-tr.restartCh:
		return tr.restartInPlace(h, ch, req)
	case <-tr.shutdownCh:
		return nil, stepShutdown
	}
}

// afterExit records the exit and applies the restart policy.
func (tr *TaskRunner) afterExit(res *drivers.ExitResult) step {
	tr.runExited(res)
	tr.appendEvent(exitEvents(res)...)
	tr.destroyTask()
	select {
	case <-tr.killCh:
		// Killed while it was exiting on its own: no restart.
		tr.appendEvent(eventKilled())
		return stepDead
	default:
	}
	return tr.decide(tr.restarts.OnExit(res))
}

// decide applies a restart decision; for a restart it waits out the delay.
func (tr *TaskRunner) decide(d Decision, reason string, delay time.Duration) step {
	switch d {
	case DecisionFail:
		tr.appendEvent(eventNotRestarting(reason))
		return stepDead
	case DecisionDone:
		return stepDead
	}
	tr.logger.Info("restarting task", "reason", reason, "delay", delay)
	tr.updateState(structs.TaskStatePending, eventRestarting(reason, delay))
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return stepContinue
	case <-tr.killCh:
		tr.killedBeforeStart()
		return stepDead
	case <-tr.shutdownCh:
		return stepShutdown
	}
}

// kill stops the running task and waits for it to exit: pre-kill hooks
// (deregistering services), the Killing event, the task's shutdown_delay,
// then the kill signal with kill_timeout's escalation.
func (tr *TaskRunner) kill(h *drivers.TaskHandle, ch <-chan *drivers.ExitResult) (*drivers.ExitResult, step) {
	tr.runPreKill()
	tr.appendKillEvents()
	res, s := tr.waitShutdownDelay(ch)
	if s == stepShutdown {
		return nil, stepShutdown
	}
	if res == nil {
		if err := tr.cfg.Driver.StopTask(tr.teardownCtx, h.Config.ID, tr.killTimeout, tr.currentTask().KillSignal); err != nil {
			tr.logger.Error("stopping task", "error", err)
		}
		select {
		case r, ok := <-ch:
			if !ok {
				return nil, stepShutdown
			}
			res = r
		case <-tr.shutdownCh:
			return nil, stepShutdown
		}
	}
	tr.runExited(res)
	tr.appendEvent(exitEvents(res)...)
	tr.destroyTask()
	tr.appendEvent(eventKilled())
	return res, stepDead
}

// waitShutdownDelay waits out the task's shutdown_delay before it is
// signalled, unless the stop asked to skip it. A task that exits meanwhile
// ends the wait; its result is returned.
func (tr *TaskRunner) waitShutdownDelay(ch <-chan *drivers.ExitResult) (*drivers.ExitResult, step) {
	delay := tr.currentTask().ShutdownDelay
	if delay <= 0 || tr.currentAlloc().DesiredTransition.ShouldIgnoreShutdownDelay() {
		return nil, stepContinue
	}
	tr.appendEvent(eventWaitingShutdownDelay(delay))
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, stepShutdown
		}
		return r, stepContinue
	case <-t.C:
		return nil, stepContinue
	case <-tr.shutdownCh:
		return nil, stepShutdown
	}
}

// appendKillEvents records why the task is killed: the kill's own event when
// it is not a plain Killing (sibling failed, leader dead), then Killing.
func (tr *TaskRunner) appendKillEvents() {
	ev := tr.killEvent()
	if ev.Type != structs.TaskKilling {
		tr.appendEvent(ev)
		ev = NewKillingEvent()
	}
	ev.KillTimeout = tr.killTimeout
	tr.appendEvent(ev)
}

// killedBeforeStart marks a task that is not running as killed.
func (tr *TaskRunner) killedBeforeStart() {
	if ev := tr.killEvent(); ev.Type != structs.TaskKilling {
		tr.appendEvent(ev)
	}
	tr.appendEvent(eventKilled())
}

// undoStart kills a task just started whose handle could not be persisted.
// Not bounded by a shutdown, which would leave exactly the unrecorded task
// this exists to remove (the driver bounds its own wait for the exit).
func (tr *TaskRunner) undoStart(h *drivers.TaskHandle) {
	if err := tr.cfg.Driver.DestroyTask(context.Background(), h.Config.ID, true); err != nil && !errors.Is(err, drivers.ErrTaskNotFound) {
		tr.logger.Error("stopping a task whose handle was not persisted", "error", err)
	}
	_ = tr.setHandle(nil)
}

// destroyTask releases the driver's resources for an exited task.
func (tr *TaskRunner) destroyTask() {
	h := tr.handle()
	if h == nil {
		return
	}
	if err := tr.cfg.Driver.DestroyTask(tr.teardownCtx, h.Config.ID, true); err != nil && !errors.Is(err, drivers.ErrTaskNotFound) {
		tr.logger.Warn("destroying task", "error", err)
	}
	_ = tr.setHandle(nil)
}

// end finishes Run: a dead task runs its stop hooks and is marked dead; a
// shut-down runner leaves everything (the task, its handle) as it is.
func (tr *TaskRunner) end(s step) {
	if s == stepShutdown {
		tr.runShutdownHooks()
		return
	}
	tr.runStop()
	tr.updateState(structs.TaskStateDead)
}

// buildTaskConfig assembles what the driver needs for one start.
func (tr *TaskRunner) buildTaskConfig() *drivers.TaskConfig {
	alloc, task := tr.currentAlloc(), tr.currentTask()
	tr.envBuilder.SetNetworkStatus(tr.cfg.HookResources.NetworkStatus())
	env := tr.envBuilder.Build()
	cfg := &drivers.TaskConfig{
		ID: fmt.Sprintf("%s/%s/%s", alloc.ID, task.Name, randomHex(4)), Name: task.Name,
		AllocID: alloc.ID, Namespace: alloc.Namespace, JobID: alloc.JobID, TaskGroup: alloc.TaskGroup,
		Env: env.Map(), User: task.User, Config: env.InterpolateConfig(task.Config),
		AllocDir: tr.cfg.AllocDir.Dir, TaskDir: tr.taskDir.DriverTaskDir(),
		StdoutPath: tr.taskDir.StdoutPath(), StderrPath: tr.taskDir.StderrPath(),
		NetworkIsolation: tr.cfg.HookResources.NetworkIsolation(),
		Mounts:           tr.taskMounts(),
	}
	if alloc.Job != nil {
		cfg.JobName = alloc.Job.Name
	}
	cfg.Resources = taskResources(alloc, task)
	cfg.Ports = allocPorts(alloc)
	if lc := task.LogConfig; lc != nil {
		cfg.Logs = drivers.LogConfig{MaxFiles: lc.MaxFiles, MaxFileSizeMB: lc.MaxFileSizeMB, Disabled: lc.Disabled}
	}
	return cfg
}

func taskResources(a *structs.Allocation, t *structs.Task) drivers.Resources {
	if a.AllocatedResources != nil {
		if r := a.AllocatedResources.Tasks[t.Name]; r != nil {
			return drivers.Resources{
				CPUShares: r.Cpu.CpuShares, ReservedCores: r.Cpu.ReservedCores,
				MemoryMB: r.Memory.MemoryMB, MemoryMaxMB: r.Memory.MemoryMaxMB,
			}
		}
	}
	if r := t.Resources; r != nil {
		return drivers.Resources{CPUShares: int64(r.CPU), MemoryMB: int64(r.MemoryMB), MemoryMaxMB: int64(r.MemoryMaxMB)}
	}
	return drivers.Resources{}
}

// allocPorts are the group's allocated ports, as drivers see them.
func allocPorts(a *structs.Allocation) []drivers.PortMapping {
	if a.AllocatedResources == nil {
		return nil
	}
	var out []drivers.PortMapping
	for _, p := range a.AllocatedResources.Shared.Ports {
		out = append(out, drivers.PortMapping{Label: p.Label, Value: p.Value, To: p.To, HostIP: p.HostIP})
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// taskMounts are the task's volumes plus, for drivers that isolate the
// filesystem and honour mounts, the group network's resolv.conf and hosts.
func (tr *TaskRunner) taskMounts() []*drivers.MountConfig {
	out := tr.volumeMounts
	if d := tr.cfg.Driver; d != nil {
		caps := d.Capabilities()
		if caps.MountConfigs && caps.FSIsolation != drivers.FSIsolationNone {
			out = append(slices.Clip(out), tr.cfg.HookResources.NetworkMounts()...)
		}
	}
	return out
}
