package allocrunner

import (
	"context"
	"errors"

	"github.com/roam-sh/roam/client/taskrunner"
	"github.com/roam-sh/roam/structs"
)

// Lifecycle is what an allocation hook may do to the allocation's tasks,
// addressed by name: a group service's check watcher restarts a task
// (check_restart), a hook reports what it did in a task's events. Every
// hook request carries one (HookRequest.Lifecycle).
//
// RestartTask and KillTask wait for the outcome: call them from a goroutine
// the hook owns, not from inside a stage, because the task may be waiting
// for that stage (no task starts before Prerun ends).
type Lifecycle interface {
	// RestartTask restarts the running task in place, outside its restart
	// policy; ev is the first event recorded (nil: a user restart).
	RestartTask(ctx context.Context, task string, ev *structs.TaskEvent) error
	// SignalTask sends sig ("SIGHUP") to the running task; reason shows in
	// its events.
	SignalTask(task, sig, reason string) error
	// KillTask kills the task for good; ev says why (nil: a plain kill).
	KillTask(ctx context.Context, task string, ev *structs.TaskEvent) error
	// EmitTaskEvent appends ev to the task's events.
	EmitTaskEvent(task string, ev *structs.TaskEvent) error
}

// taskLifecycle is the runner's Lifecycle: each call goes to the named
// task's runner, which implements taskrunner.Lifecycle for its own task.
type taskLifecycle struct{ ar *AllocRunner }

var _ Lifecycle = taskLifecycle{}

func (l taskLifecycle) task(name string) (taskrunner.Lifecycle, error) {
	tr, err := l.ar.runner(name)
	if err != nil {
		return nil, err
	}
	return tr, nil
}

func (l taskLifecycle) RestartTask(ctx context.Context, name string, ev *structs.TaskEvent) error {
	t, err := l.task(name)
	if err != nil {
		return err
	}
	return t.Restart(ctx, ev)
}

func (l taskLifecycle) SignalTask(name, sig, reason string) error {
	t, err := l.task(name)
	if err != nil {
		return err
	}
	return t.Signal(sig, reason)
}

func (l taskLifecycle) KillTask(ctx context.Context, name string, ev *structs.TaskEvent) error {
	t, err := l.task(name)
	if err != nil {
		return err
	}
	return t.Kill(ctx, ev)
}

func (l taskLifecycle) EmitTaskEvent(name string, ev *structs.TaskEvent) error {
	if ev == nil {
		return errors.New("emit task event: no event")
	}
	t, err := l.task(name)
	if err != nil {
		return err
	}
	t.EmitEvent(ev)
	return nil
}
