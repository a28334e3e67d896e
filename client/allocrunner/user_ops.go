package allocrunner

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/roam-sh/roam/client/taskrunner"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
)

// ErrUnknownTask is returned for a task name the allocation does not have.
var ErrUnknownTask = errors.New("unknown task")

// TaskNames lists the allocation's tasks in the group's order.
func (ar *AllocRunner) TaskNames() []string {
	names := make([]string, len(ar.tasks))
	for i, t := range ar.tasks {
		names[i] = t.Name
	}
	return names
}

func (ar *AllocRunner) runner(task string) (*taskrunner.TaskRunner, error) {
	if tr := ar.runners[task]; tr != nil {
		return tr, nil
	}
	return nil, fmt.Errorf("alloc %s: %w %q", ar.id, ErrUnknownTask, task)
}

// RestartTasks restarts one task in place, or with task "" every running
// task (all is Nomad's AllTasks and means the same here). Restarts do not
// count against restart policies.
func (ar *AllocRunner) RestartTasks(ctx context.Context, task string, all bool) error {
	if task != "" && all {
		return errors.New("restart: name a task or ask for all tasks, not both")
	}
	ev := func() *structs.TaskEvent { return taskrunner.NewRestartEvent(taskrunner.ReasonUserRestart) }
	if task != "" {
		tr, err := ar.runner(task)
		if err != nil {
			return err
		}
		return tr.Restart(ctx, ev())
	}
	running := ar.runningTasks()
	if len(running) == 0 {
		return fmt.Errorf("alloc %s: restart: %w", ar.id, taskrunner.ErrTaskNotRunning)
	}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, tr := range running {
		wg.Go(func() {
			if err := tr.Restart(ctx, ev()); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (ar *AllocRunner) runningTasks() []*taskrunner.TaskRunner {
	var out []*taskrunner.TaskRunner
	for _, t := range ar.tasks {
		if tr := ar.runners[t.Name]; tr.TaskState().State == structs.TaskStateRunning {
			out = append(out, tr)
		}
	}
	return out
}

// TaskStats returns the resource usage of every running task whose driver
// reports it, by task name.
func (ar *AllocRunner) TaskStats(ctx context.Context) map[string]*drivers.TaskResourceUsage {
	out := map[string]*drivers.TaskResourceUsage{}
	for _, tr := range ar.runningTasks() {
		u, err := tr.Stats(ctx)
		if err != nil {
			if !errors.Is(err, taskrunner.ErrStatsNotSupported) && !errors.Is(err, taskrunner.ErrTaskNotRunning) {
				ar.logger.Warn("reading task stats", "task", tr.Name(), "error", err)
			}
			continue
		}
		out[tr.Name()] = u
	}
	return out
}

// ExecTask runs an interactive command in a running task.
func (ar *AllocRunner) ExecTask(ctx context.Context, task string, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	tr, err := ar.runner(task)
	if err != nil {
		return nil, err
	}
	return tr.Exec(ctx, opts)
}

// IsTerminal reports whether every task of the allocation is dead for good:
// its directory is then only kept for inspection and may be collected.
func (ar *AllocRunner) IsTerminal() bool { return ar.allTasksDead() }
