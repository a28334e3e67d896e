package allocrunner

import (
	"context"
	"errors"

	"github.com/roam-sh/roam/client/taskrunner"
	"github.com/roam-sh/roam/structs"
)

// Update hands the runner a newer version of the allocation from the servers.
// It never blocks: updates are applied in order by one goroutine, and only
// the latest pending one is kept.
func (ar *AllocRunner) Update(update *structs.Allocation) {
	for {
		select {
		case ar.updateCh <- update:
			return
		default:
		}
		select {
		case <-ar.updateCh:
		default:
		}
	}
}

func (ar *AllocRunner) handleUpdates() {
	for {
		select {
		case a := <-ar.updateCh:
			ar.applyUpdate(a)
		case <-ar.shutdownCh:
			return
		case <-ar.destroyCh:
			return
		}
	}
}

func (ar *AllocRunner) applyUpdate(update *structs.Allocation) {
	ar.allocMu.Lock()
	if update.AllocModifyIndex < ar.alloc.AllocModifyIndex {
		ar.allocMu.Unlock()
		return
	}
	ar.alloc = update
	ar.allocMu.Unlock()
	if err := ar.cfg.StateDB.PutAllocation(update); err != nil {
		ar.logger.Error("persisting allocation", "error", err)
	}
	if stopRequested(update) {
		ar.stop(false)
		return
	}
	ar.runUpdateHooks()
	for _, tr := range ar.runners {
		tr.Update(update)
	}
}

// stop kills the allocation's tasks in kill-phase order (the servers stopped
// it); poststop tasks then run, unless the allocation is being destroyed.
func (ar *AllocRunner) stop(destroying bool) {
	ar.mu.Lock()
	already := ar.stopping
	ar.stopping = true
	ar.mu.Unlock()
	ar.cancel() // a stage blocked on the runner's context gives way
	if !already {
		ar.preKill()
	}
	ar.killTasks(taskrunner.NewKillingEvent, notPoststop)
	if destroying {
		for _, tr := range ar.runners {
			if tr.Task().IsPoststop() {
				_ = tr.Kill(context.Background(), taskrunner.NewKillingEvent())
			}
		}
	}
}

// failAll fails every task after the allocation could not be prepared.
func (ar *AllocRunner) failAll(err error) {
	ar.mu.Lock()
	ar.stopping = true
	ar.mu.Unlock()
	ar.cancel()
	for _, tr := range ar.runners {
		ev := structs.NewTaskEvent(structs.TaskSetupFailure)
		ev.SetupError, ev.FailsTask = err.Error(), true
		go func() { _ = tr.Kill(context.Background(), ev) }()
	}
}

// Destroy kills every task (poststop included), runs the destroy hooks and
// deletes the allocation's state. It returns at once; DestroyCh closes when
// it is done. A Shutdown that cuts the kills short ends it early and keeps
// the state while a task still has a handle: its handle and kill (persisted
// by the task runner) let the next client finish the job.
func (ar *AllocRunner) Destroy() {
	ar.destroyOnce.Do(func() { go ar.destroy() })
}

func (ar *AllocRunner) destroy() {
	defer close(ar.destroyCh)
	ar.stop(true)
	ar.mu.Lock()
	started := ar.started
	ar.mu.Unlock()
	if started {
		<-ar.waitCh
	}
	if ar.isShutdown() && ar.anyTaskHandle() {
		// The client shut down before the kills got through: tasks run on,
		// and their handles and kills are all that can find them.
		// Keep the state (and the directory, the network); the next client
		// restores the allocation, its task runners finish the kills, and
		// the servers' sync destroys it again.
		ar.logger.Warn("destroy cut short by shutdown; the next client finishes it")
		return
	}
	ar.runDestroyHooks()
	if err := ar.cfg.StateDB.DeleteAllocationBucket(ar.id); err != nil {
		ar.logger.Error("deleting allocation state", "error", err)
	}
	ar.logger.Info("allocation destroyed")
}

// anyTaskHandle reports whether a task runner still holds a task handle:
// a task that may be running. One without a handle has no process
// (taskrunner's package doc says why).
func (ar *AllocRunner) anyTaskHandle() bool {
	for _, tr := range ar.runners {
		if tr.TaskID() != "" {
			return true
		}
	}
	return false
}

// Shutdown stops the runner and its task runners but leaves the tasks
// running, for the next client process to re-attach to.
func (ar *AllocRunner) Shutdown() {
	ar.shutdownOnce.Do(func() {
		close(ar.shutdownCh)
		ar.cancel()
		ar.teardownCancel()
		for _, tr := range ar.runners {
			go tr.Shutdown()
		}
		ar.mu.Lock()
		started := ar.started
		ar.mu.Unlock()
		if started {
			<-ar.waitCh
		}
		ar.hookMu.Lock()
		defer ar.hookMu.Unlock()
		for _, h := range ar.hooks {
			if s, ok := h.(Shutdowner); ok {
				s.Shutdown()
			}
		}
	})
}

// Signal sends sig to one task, or to every running task when task is "".
func (ar *AllocRunner) Signal(task, sig string) error {
	if task != "" {
		tr, err := ar.runner(task)
		if err != nil {
			return err
		}
		return tr.Signal(sig, "signal requested")
	}
	var errs []error
	for _, tr := range ar.runners {
		if tr.TaskState().State == structs.TaskStateRunning {
			errs = append(errs, tr.Signal(sig, "signal requested"))
		}
	}
	return errors.Join(errs...)
}
