package rawexec

import (
	"context"
	"log/slog"
	"syscall"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/executor"
)

// task is one started task as the driver tracks it. A single waiter goroutine
// holds the executor's wait call; WaitTask callers share its result.
type task struct {
	cfg    *drivers.TaskConfig
	exec   *executor.Handle
	logger *slog.Logger
	cancel context.CancelFunc
	stats  statsState

	exit *drivers.Exit
}

func newTask(parent context.Context, cfg *drivers.TaskConfig, eh *executor.Handle, logger *slog.Logger) *task {
	ctx, cancel := context.WithCancel(parent)
	t := &task{
		cfg: cfg, exec: eh, cancel: cancel, exit: drivers.NewExit(),
		logger: logger.With("task_id", cfg.ID),
	}
	go t.exec.WaitExit(ctx, t.exit, t.logger, nil)
	return t
}

// ExitState implements drivers.Stoppable.
func (t *task) ExitState() *drivers.Exit { return t.exit }

// Stop implements drivers.Stoppable.
func (t *task) Stop(sig syscall.Signal, timeout time.Duration) error {
	return t.exec.StopTask(t.cfg.ID, t.exit, sig, timeout)
}

func (t *task) kill() error { return t.exec.KillTask(t.cfg.ID, t.exit) }

func (t *task) close() { t.cancel() }
