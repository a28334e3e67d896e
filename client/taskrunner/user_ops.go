package taskrunner

import (
	"context"
	"errors"
	"fmt"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
)

// Errors of the operations users start on a running task (`alloc restart`,
// `alloc exec`, resource usage).
var (
	// ErrTaskNotRunning: the task has no running process right now.
	ErrTaskNotRunning = errors.New("task is not running")
	// ErrExecNotSupported: the task's driver cannot run commands in it.
	ErrExecNotSupported = errors.New("driver does not support exec")
	// ErrStatsNotSupported: the task's driver reports no resource usage.
	ErrStatsNotSupported = errors.New("driver does not report resource usage")
)

// ReasonUserRestart is why a task restarts at a user's request.
const ReasonUserRestart = "User requested restart"

// restartRequest asks the run loop to restart the running task in place.
type restartRequest struct {
	ev   *structs.TaskEvent
	done chan error // receives once the old process exited and the restart is recorded
}

// NewRestartEvent is the event of a restart a user asked for.
func NewRestartEvent(reason string) *structs.TaskEvent {
	ev := structs.NewTaskEvent(structs.TaskRestartSignal)
	ev.RestartReason = reason
	return ev
}

// Restart stops the running task and starts it again at once, without
// counting against its restart policy (like Nomad's `alloc restart`). It
// returns when the old process has exited and the restart is recorded; ev
// (nil: a user request) is the first event recorded.
func (tr *TaskRunner) Restart(ctx context.Context, ev *structs.TaskEvent) error {
	if tr.TaskState().State != structs.TaskStateRunning {
		return fmt.Errorf("restart task %s: %w", tr.taskName, ErrTaskNotRunning)
	}
	if ev == nil {
		ev = NewRestartEvent(ReasonUserRestart)
	}
	req := &restartRequest{ev: ev, done: make(chan error, 1)}
	select {
	case tr.restartCh <- req:
	case <-tr.waitCh:
		return fmt.Errorf("restart task %s: %w", tr.taskName, ErrTaskNotRunning)
	case <-ctx.Done():
		return fmt.Errorf("restart task %s: %w", tr.taskName, ctx.Err())
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("restart task %s: %w", tr.taskName, ctx.Err())
	}
}

// restartInPlace runs in the run loop: stop the task, record its exit and
// have the loop start it again.
func (tr *TaskRunner) restartInPlace(h *drivers.TaskHandle, ch <-chan *drivers.ExitResult, req *restartRequest) (*drivers.ExitResult, step) {
	tr.appendEvent(req.ev)
	if err := tr.cfg.Driver.StopTask(tr.teardownCtx, h.Config.ID, tr.killTimeout, tr.currentTask().KillSignal); err != nil {
		tr.logger.Error("stopping task for a restart", "error", err)
	}
	var res *drivers.ExitResult
	select {
	case r, ok := <-ch:
		if !ok {
			req.done <- fmt.Errorf("restart task %s: client shutting down", tr.taskName)
			return nil, stepShutdown
		}
		res = r
	case <-tr.shutdownCh:
		req.done <- fmt.Errorf("restart task %s: client shutting down", tr.taskName)
		return nil, stepShutdown
	}
	defer func() { req.done <- nil }() // once the restart is on record
	tr.runExited(res)
	tr.appendEvent(eventTerminated(res))
	tr.destroyTask()
	if tr.killed() {
		tr.appendEvent(eventKilled())
		return res, stepDead
	}
	tr.updateState(structs.TaskStatePending, eventRestarting("", 0))
	return res, stepRestart
}

// Stats returns the running task's resource usage as its driver measures it.
func (tr *TaskRunner) Stats(ctx context.Context) (*drivers.TaskResourceUsage, error) {
	h := tr.handle()
	if h == nil || tr.cfg.Driver == nil {
		return nil, fmt.Errorf("stats of task %s: %w", tr.taskName, ErrTaskNotRunning)
	}
	sd, ok := tr.cfg.Driver.(drivers.StatsDriver)
	if !ok {
		return nil, fmt.Errorf("stats of task %s: %s %w", tr.taskName, tr.cfg.Driver.Name(), ErrStatsNotSupported)
	}
	u, err := sd.TaskStats(ctx, h.Config.ID)
	if err != nil {
		return nil, fmt.Errorf("stats of task %s: %w", tr.taskName, err)
	}
	return u, nil
}

// Exec runs an interactive command inside the running task through its
// driver and returns how the command ended.
func (tr *TaskRunner) Exec(ctx context.Context, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	h := tr.handle()
	if h == nil || tr.cfg.Driver == nil {
		return nil, fmt.Errorf("exec in task %s: %w", tr.taskName, ErrTaskNotRunning)
	}
	ed, ok := tr.cfg.Driver.(drivers.ExecStreamingDriver)
	if !ok || !tr.cfg.Driver.Capabilities().Exec {
		return nil, fmt.Errorf("exec in task %s: %s %w", tr.taskName, tr.cfg.Driver.Name(), ErrExecNotSupported)
	}
	res, err := ed.ExecTaskStreaming(ctx, h.Config.ID, opts)
	if err != nil {
		return nil, fmt.Errorf("exec in task %s: %w", tr.taskName, err)
	}
	return res, nil
}

// RestartAfterRecover makes a task that Run re-attaches to restart at once
// with ev: its process runs where the allocation no longer is (a namespace
// made anew). A task that is started rather than re-attached is not
// affected. Call it before Run.
func (tr *TaskRunner) RestartAfterRecover(ev *structs.TaskEvent) { tr.rejoinEv = ev }
