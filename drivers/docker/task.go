package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/docker/collector"
)

// Pacing of the exit waiter while the daemon does not answer.
const (
	reconnectMin = 200 * time.Millisecond
	reconnectMax = 5 * time.Second
)

// task is one container as the driver tracks it. A single waiter goroutine
// follows the container; WaitTask callers share its result.
//
// The waiter survives Docker daemon restarts: a daemon that stops (without
// live-restore) first stops accepting connections, then stops every
// container, answering the waits it already has. So an exit roam did not
// ask for is checked: when the daemon accepts no new connection, the exit
// was the daemon's doing. The waiter then waits for the daemon to come back
// and, if the container is stopped, starts the same container again: its
// ID, its logs and its place in the group's namespace stay, and the task
// runner sees no exit. (A wait that breaks without a status is handled the
// same way.)
type task struct {
	d      *Driver
	cfg    *drivers.TaskConfig
	state  *taskState
	logger *slog.Logger
	cancel context.CancelFunc

	exit *drivers.Exit
	mu   sync.Mutex
	// stopping is set once roam asked the container to stop: a container
	// found stopped after a daemon restart is then not started again.
	stopping bool
}

func newTask(d *Driver, cfg *drivers.TaskConfig, st *taskState) *task {
	ctx, cancel := context.WithCancel(d.ctx)
	t := &task{
		d: d, cfg: cfg, state: st, cancel: cancel, exit: drivers.NewExit(),
		logger: d.logger.With("task_id", cfg.ID, "container_id", st.ContainerID),
	}
	go t.wait(ctx)
	return t
}

// wait follows the container until it exits for good or the driver shuts
// down.
func (t *task) wait(ctx context.Context) {
	for ctx.Err() == nil {
		status, err := t.waitOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil && (t.isStopping() || t.d.accepting(ctx)) {
			t.exitedWith(ctx, status)
			return
		}
		if err != nil {
			t.logger.Warn("lost the container's wait; waiting for the Docker daemon", "error", err)
		} else {
			t.logger.Info("container stopped while the Docker daemon shuts down; waiting for it to come back")
		}
		if done := t.afterDaemonLoss(ctx); done {
			return
		}
	}
}

// waitOnce blocks until the container is not running and returns its exit
// status, or an error if the daemon could not be asked or went away.
func (t *task) waitOnce(ctx context.Context) (container.WaitResponse, error) {
	w := t.d.api.ContainerWait(ctx, t.state.ContainerID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case r := <-w.Result:
		return r, nil
	case err := <-w.Error:
		return container.WaitResponse{}, err
	}
}

// exitedWith records the exit, with the OOM kill Docker noticed.
func (t *task) exitedWith(ctx context.Context, w container.WaitResponse) {
	res := &drivers.ExitResult{ExitCode: int(w.StatusCode)}
	if w.Error != nil && w.Error.Message != "" {
		res.Err = errors.New(w.Error.Message)
	}
	at := time.Now()
	ictx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	if info, err := t.d.inspect(ictx, t.state.ContainerID); err == nil && info.State != nil {
		res.OOMKilled = info.State.OOMKilled
		if f, err := time.Parse(time.RFC3339Nano, info.State.FinishedAt); err == nil && !f.IsZero() {
			at = f
		}
	} else if err != nil {
		t.logger.Warn("inspecting exited container", "error", err)
	}
	t.exit.Finish(res, at)
}

// afterDaemonLoss waits for the daemon to answer again and decides what the
// loss meant for the container. It reports whether the task is finished.
func (t *task) afterDaemonLoss(ctx context.Context) (finished bool) {
	info, wasDown, err := t.inspectWhenBack(ctx)
	switch {
	case ctx.Err() != nil:
		return true
	case cerrdefs.IsNotFound(err):
		t.exit.Finish(&drivers.ExitResult{ExitCode: -1, Err: fmt.Errorf("container %s was removed outside roam", t.state.ContainerID)}, time.Now())
		return true
	case err != nil:
		return false
	case !wasDown || info.State.Running || t.isStopping():
		// The daemon never went away, the container survived it
		// (live-restore), or roam stopped it: wait again, which reports
		// any exit.
		return false
	}
	t.logger.Info("container stopped while the Docker daemon was down; starting it again")
	sctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	if _, err := t.d.api.ContainerStart(sctx, t.state.ContainerID, client.ContainerStartOptions{}); err != nil {
		t.logger.Error("starting the container again failed; reporting its exit", "error", err)
	}
	return false
}

// inspectWhenBack inspects the container as soon as the daemon accepts
// connections again, and reports whether it did not at first.
func (t *task) inspectWhenBack(ctx context.Context) (info container.InspectResponse, wasDown bool, err error) {
	delay := reconnectMin
	for {
		if t.d.accepting(ctx) {
			ictx, cancel := context.WithTimeout(ctx, apiTimeout)
			info, err = t.d.inspect(ictx, t.state.ContainerID)
			cancel()
			if err == nil || cerrdefs.IsNotFound(err) || ctx.Err() != nil {
				return info, wasDown, err
			}
		}
		wasDown = true
		select {
		case <-ctx.Done():
			return info, wasDown, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, reconnectMax)
	}
}

func (t *task) isStopping() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stopping
}

// stop sends sig and, from a goroutine, SIGKILL if the container still runs
// after timeout.
// ExitState implements drivers.Stoppable.
func (t *task) ExitState() *drivers.Exit { return t.exit }

// Stop implements drivers.Stoppable.
func (t *task) Stop(sig syscall.Signal, timeout time.Duration) error {
	if t.exit.Exited() {
		return nil
	}
	t.mu.Lock()
	t.stopping = true
	t.mu.Unlock()
	if err := t.signal(sig); err != nil && !t.exit.Exited() {
		return fmt.Errorf("stop task %s: %w", t.cfg.ID, err)
	}
	if sig == syscall.SIGKILL {
		return nil
	}
	go func() {
		select {
		case <-t.exit.Done():
		case <-time.After(timeout):
			t.logger.Debug("kill_timeout passed; killing the container")
			if err := t.signal(syscall.SIGKILL); err != nil && !t.exit.Exited() {
				t.logger.Warn("killing the container", "error", err)
			}
		}
	}()
	return nil
}

func (t *task) signal(sig syscall.Signal) error {
	ctx, cancel := t.d.apiCtx()
	defer cancel()
	if _, err := t.d.api.ContainerKill(ctx, t.state.ContainerID, client.ContainerKillOptions{Signal: fmt.Sprint(int(sig))}); err != nil {
		if notRunning(err) {
			// The container exited between our last look and the signal;
			// the waiter records its exit, so there is nothing to stop.
			return nil
		}
		return fmt.Errorf("signal container %s: %w", t.state.ContainerID, err)
	}
	return nil
}

func (t *task) kill() error {
	if err := t.Stop(syscall.SIGKILL, 0); err != nil {
		return err
	}
	select {
	case <-t.exit.Done():
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("task %s still running %v after SIGKILL", t.cfg.ID, killWait)
	}
}

func (t *task) close() { t.cancel() }

// remove lets the log collector finish, then removes the container.
func (t *task) remove() error {
	if h, ok := collector.Find(t.state.CollectorDir); ok {
		if err := h.Stop(collectorStopTimeout); err != nil {
			t.logger.Warn("stopping log collector", "error", err)
		}
	}
	ctx, cancel := t.d.apiCtx()
	defer cancel()
	_, err := t.d.api.ContainerRemove(ctx, t.state.ContainerID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", t.state.ContainerID, err)
	}
	return nil
}

// notRunning reports whether the daemon refused a signal because the
// container had already stopped (a 409 Conflict naming it not running).
func notRunning(err error) bool {
	return cerrdefs.IsConflict(err) || strings.Contains(err.Error(), "is not running")
}
