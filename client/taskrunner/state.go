package taskrunner

import (
	"fmt"
	"maps"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
)

// TaskState returns a copy of the task's state.
func (tr *TaskRunner) TaskState() *structs.TaskState {
	tr.stateMu.Lock()
	defer tr.stateMu.Unlock()
	return copyTaskState(tr.state)
}

// appendEvent records events without changing the state.
func (tr *TaskRunner) appendEvent(evs ...*structs.TaskEvent) { tr.updateState("", evs...) }

// updateState records events and, unless s is "", moves to state s; then it
// persists the state and tells the alloc runner.
func (tr *TaskRunner) updateState(s structs.TaskStateName, evs ...*structs.TaskEvent) {
	tr.stateMu.Lock()
	st := tr.state
	for _, ev := range evs {
		applyEvent(st, ev)
	}
	if s != "" && s != st.State {
		now := time.Now().UTC()
		switch s {
		case structs.TaskStateRunning:
			if st.StartedAt.IsZero() {
				st.StartedAt = now
			}
		case structs.TaskStateDead:
			st.FinishedAt = now
		}
		st.State = s
	}
	snapshot := copyTaskState(st)
	tr.stateMu.Unlock()

	if err := tr.cfg.StateDB.PutTaskState(tr.allocID, tr.taskName, snapshot); err != nil {
		tr.logger.Error("persisting task state", "error", err)
	}
	tr.cfg.Updater.TaskStateUpdated()
}

func applyEvent(st *structs.TaskState, ev *structs.TaskEvent) {
	if ev.Details == nil {
		ev.Details = map[string]string{}
	}
	ev.DisplayMessage = displayMessage(ev)
	if ev.FailsTask {
		st.Failed = true
	}
	if ev.Type == structs.TaskRestarting {
		st.Restarts++
		st.LastRestart = time.Unix(0, ev.Time).UTC()
	}
	st.Events = append(st.Events, ev)
	if n := len(st.Events); n > maxEvents {
		st.Events = st.Events[n-maxEvents:]
	}
}

func (tr *TaskRunner) isDead() bool {
	tr.stateMu.Lock()
	defer tr.stateMu.Unlock()
	return tr.state.State == structs.TaskStateDead
}

// setHandle records (or with nil clears) the running task's handle, in
// memory even when persisting it fails (the error says so).
func (tr *TaskRunner) setHandle(h *drivers.TaskHandle) error {
	err := tr.updateLocal(func(ls *LocalState) { ls.TaskHandle = h })
	if err != nil {
		tr.logger.Error("persisting task handle", "error", err)
		return fmt.Errorf("persist task handle: %w", err)
	}
	return nil
}

// saveHookState persists one hook's saved state (HookState.Save).
func (tr *TaskRunner) saveHookState(hook string, b []byte) error {
	err := tr.updateLocal(func(ls *LocalState) {
		if b == nil {
			delete(ls.HookState, hook)
			return
		}
		if ls.HookState == nil {
			ls.HookState = map[string][]byte{}
		}
		ls.HookState[hook] = b
	})
	if err != nil {
		return fmt.Errorf("task %s: save state of hook %s: %w", tr.taskName, hook, err)
	}
	return nil
}

// updateLocal changes the local state and persists a copy of it.
func (tr *TaskRunner) updateLocal(change func(*LocalState)) error {
	tr.persistMu.Lock()
	defer tr.persistMu.Unlock()
	tr.stateMu.Lock()
	change(tr.local)
	ls := tr.local.Copy()
	tr.stateMu.Unlock()
	return tr.cfg.StateDB.PutTaskRunnerLocalState(tr.allocID, tr.taskName, ls)
}

// handle returns the running task's handle, or nil.
func (tr *TaskRunner) handle() *drivers.TaskHandle {
	tr.stateMu.Lock()
	defer tr.stateMu.Unlock()
	return tr.local.TaskHandle
}

func copyTaskState(s *structs.TaskState) *structs.TaskState {
	if s == nil {
		return nil
	}
	out := *s
	out.Events = make([]*structs.TaskEvent, len(s.Events))
	for i, ev := range s.Events {
		out.Events[i] = copyEvent(ev)
	}
	return &out
}

func copyEvent(ev *structs.TaskEvent) *structs.TaskEvent {
	if ev == nil {
		return nil
	}
	e := *ev
	e.Details = maps.Clone(ev.Details)
	return &e
}
