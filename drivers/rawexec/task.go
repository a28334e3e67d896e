package rawexec

import (
	"context"
	"errors"
	"log/slog"
	"syscall"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/executor"
)

// waitRetryDelay spaces attempts to reach an executor that is alive but not
// answering.
const waitRetryDelay = time.Second

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
	go t.wait(ctx)
	return t
}

// wait blocks on the executor until the task exits. It gives up only when the
// driver shuts down or the executor is lost.
func (t *task) wait(ctx context.Context) {
	for {
		st, err := t.exec.Wait(ctx)
		switch {
		case err == nil:
			t.exit.Finish(&drivers.ExitResult{ExitCode: st.ExitCode, Signal: st.Signal, OOMKilled: st.OOMKilled, Err: statusErr(st)}, st.ExitedAt)
			return
		case ctx.Err() != nil:
			return
		case errors.Is(err, executor.ErrExecutorLost):
			t.exit.Finish(&drivers.ExitResult{ExitCode: -1, Err: err}, time.Now())
			return
		}
		t.logger.Warn("waiting on executor", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(waitRetryDelay):
		}
	}
}

func statusErr(st *executor.ExitStatus) error {
	if st.Err == "" {
		return nil
	}
	return errors.New(st.Err)
}

// ExitState implements drivers.Stoppable.
func (t *task) ExitState() *drivers.Exit { return t.exit }

// Stop implements drivers.Stoppable.
func (t *task) Stop(sig syscall.Signal, timeout time.Duration) error {
	return t.exec.StopTask(t.cfg.ID, t.exit, sig, timeout)
}

func (t *task) kill() error { return t.exec.KillTask(t.cfg.ID, t.exit) }

func (t *task) close() { t.cancel() }
