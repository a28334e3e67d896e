package taskrunner

import (
	"context"
	"fmt"

	"github.com/roam-sh/roam/structs"
)

// AllowStart lets a waiting task start; the alloc runner calls it when the
// task's lifecycle stage is reached. Calling it again does nothing.
func (tr *TaskRunner) AllowStart() {
	tr.startOnce.Do(func() { close(tr.startCh) })
}

// Kill kills the task (or, if it has not started, marks it dead) and waits
// until it is dead or ctx ends. ev says why (NewKillingEvent for a stop,
// NewSiblingFailedEvent, NewLeaderDeadEvent, NewMainDeadEvent); nil means a
// plain stop. Only the first kill's event is used.
func (tr *TaskRunner) Kill(ctx context.Context, ev *structs.TaskEvent) error {
	tr.killOnce.Do(func() {
		if ev == nil {
			ev = NewKillingEvent()
		}
		// On record before the run loop can act on it: a client that
		// stops (Shutdown interrupts a kill) or crashes before the task is
		// dead leaves the kill for the next runner to finish (New).
		if err := tr.updateLocal(func(ls *LocalState) { ls.Kill = copyEvent(ev) }); err != nil {
			tr.logger.Error("persisting the kill", "error", err)
		}
		tr.markKilled(ev)
	})
	select {
	case <-tr.waitCh:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kill task %s: %w", tr.taskName, ctx.Err())
	}
}

// markKilled makes the kill visible to the run loop: killCh, and the
// runner's context so a stage or a start blocked on it gives way. Called
// once, under killOnce.
func (tr *TaskRunner) markKilled(ev *structs.TaskEvent) {
	tr.stateMu.Lock()
	tr.killEv = ev
	tr.stateMu.Unlock()
	close(tr.killCh)
	tr.cancel()
}

func (tr *TaskRunner) killed() bool {
	select {
	case <-tr.killCh:
		return true
	default:
		return false
	}
}

func (tr *TaskRunner) killEvent() *structs.TaskEvent {
	tr.stateMu.Lock()
	defer tr.stateMu.Unlock()
	return tr.killEv
}

// Shutdown stops the runner without touching the task, which keeps running
// for the next client process to re-attach to, and waits for Run to return.
func (tr *TaskRunner) Shutdown() {
	tr.shutdownOnce.Do(func() {
		close(tr.shutdownCh)
		tr.cancel()
		tr.teardownCancel()
	})
	<-tr.waitCh
}

// WaitCh is closed when the runner is done: the task is dead, or the runner
// was shut down.
func (tr *TaskRunner) WaitCh() <-chan struct{} { return tr.waitCh }

// Update applies an in-place update of the allocation.
func (tr *TaskRunner) Update(alloc *structs.Allocation) {
	task := tr.currentTask()
	if tg := alloc.LookupTaskGroup(); tg != nil {
		if t := tg.LookupTask(tr.taskName); t != nil {
			task = t
		}
	}
	tr.allocMu.Lock()
	tr.alloc, tr.task = alloc, task
	tr.allocMu.Unlock()
	tr.envBuilder.UpdateAlloc(alloc, task)
	tr.runUpdate()
}

// Signal sends sig to the running task.
func (tr *TaskRunner) Signal(sig, reason string) error {
	h := tr.handle()
	if h == nil || tr.cfg.Driver == nil {
		return fmt.Errorf("signal task %s: task is not running", tr.taskName)
	}
	ev := structs.NewTaskEvent(structs.TaskSignaling)
	ev.TaskSignal, ev.TaskSignalReason = sig, reason
	tr.appendEvent(ev)
	if err := tr.cfg.Driver.SignalTask(h.Config.ID, sig); err != nil {
		return fmt.Errorf("signal task %s: %w", tr.taskName, err)
	}
	return nil
}

// EmitEvent appends ev to the task's events (Lifecycle).
func (tr *TaskRunner) EmitEvent(ev *structs.TaskEvent) { tr.appendEvent(ev) }

var _ Lifecycle = (*TaskRunner)(nil)

// Task returns the task definition in force.
func (tr *TaskRunner) Task() *structs.Task { return tr.currentTask() }

// Name is the task's name.
func (tr *TaskRunner) Name() string { return tr.taskName }

// IsLeader reports whether the task is the group's leader.
func (tr *TaskRunner) IsLeader() bool { return tr.currentTask().Leader }

// TaskDirPath is the host path of the task's working directory.
func (tr *TaskRunner) TaskDirPath() string { return tr.taskDir.Dir }

// TaskID is the driver's ID of the running task, or "".
func (tr *TaskRunner) TaskID() string {
	if h := tr.handle(); h != nil {
		return h.Config.ID
	}
	return ""
}

func (tr *TaskRunner) currentAlloc() *structs.Allocation {
	tr.allocMu.RLock()
	defer tr.allocMu.RUnlock()
	return tr.alloc
}

func (tr *TaskRunner) currentTask() *structs.Task {
	tr.allocMu.RLock()
	defer tr.allocMu.RUnlock()
	return tr.task
}
