package exec

import (
	"context"
	"log/slog"
	"syscall"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/executor"
	"github.com/roam-sh/roam/internal/cgroups"
)

// taskState is the driver state persisted in the task handle: enough for a
// later client to find the executor and the task's cgroup.
type taskState struct {
	Executor *executor.Handle `json:"executor"`
	Cgroup   cgroups.Ref      `json:"cgroup"`
}

// task is one started task as the driver tracks it. A single waiter goroutine
// holds the executor's wait call; WaitTask callers share its result.
type task struct {
	cfg    *drivers.TaskConfig
	exec   *executor.Handle
	cgroup cgroups.Cgroup // nil if the host's cgroups could not be opened
	logger *slog.Logger
	cancel context.CancelFunc
	stats  cpuSampler

	exit *drivers.Exit
}

func newTask(parent context.Context, cfg *drivers.TaskConfig, st taskState, cg cgroups.Cgroup, logger *slog.Logger) *task {
	ctx, cancel := context.WithCancel(parent)
	t := &task{
		cfg: cfg, exec: st.Executor, cgroup: cg, cancel: cancel, exit: drivers.NewExit(),
		logger: logger.With("task_id", cfg.ID),
	}
	go t.exec.WaitExit(ctx, t.exit, t.logger, t.removeCgroup)
	return t
}

// ExitState implements drivers.Stoppable.
func (t *task) ExitState() *drivers.Exit { return t.exit }

// Stop implements drivers.Stoppable.
func (t *task) Stop(sig syscall.Signal, timeout time.Duration) error {
	return t.exec.StopTask(t.cfg.ID, t.exit, sig, timeout)
}

func (t *task) kill() error { return t.exec.KillTask(t.cfg.ID, t.exit) }

// removeCgroup removes the task's cgroup. The executor does it when the task
// exits; this is for executors that died first, and is idempotent.
func (t *task) removeCgroup() {
	if t.cgroup == nil {
		return
	}
	if err := t.cgroup.Remove(); err != nil {
		t.logger.Warn("removing task cgroup", "cgroup", t.cgroup.Paths(), "error", err)
	}
}

func (t *task) close() { t.cancel() }
