package executor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/drivers"
)

// Handle identifies a running executor and its task. It is plain data, saved
// by the driver inside the task handle, and is all a later client process
// needs to re-attach.
type Handle struct {
	ExecutorPID   int
	ExecutorStart uint64
	TaskPID       int
	TaskStart     uint64
	StartedAt     time.Time
	Socket        string
	StatusPath    string
	Dir           string
}

// ErrExecutorLost means the executor is gone without having recorded how the
// task ended (it was killed, or the machine rebooted).
var ErrExecutorLost = errors.New("executor exited without recording the task's exit")

// dialTimeout bounds connecting to and answering a non-blocking request.
const dialTimeout = 10 * time.Second

// ExecutorAlive reports whether the executor process is still running.
func (h *Handle) ExecutorAlive() bool { return alive(h.ExecutorPID, h.ExecutorStart) }

// TaskAlive reports whether the task's main process is still running.
func (h *Handle) TaskAlive() bool { return alive(h.TaskPID, h.TaskStart) }

// Check decides whether the task can be re-attached: the executor is alive, or
// it has recorded the exit status. Otherwise the task is lost; any process it
// left behind is killed so nothing runs unsupervised, and ErrExecutorLost is
// returned.
func (h *Handle) Check() error {
	if h.ExecutorAlive() {
		return nil
	}
	if _, ok, err := ReadExitStatus(h.StatusPath); err != nil || ok {
		return err
	}
	h.killOrphan()
	return ErrExecutorLost
}

func (h *Handle) killOrphan() {
	if h.TaskAlive() {
		_ = unix.Kill(-h.TaskPID, unix.SIGKILL)
	}
}

// Signal sends sig to the task's main process, as Nomad's executor does;
// Stop addresses the whole group.
func (h *Handle) Signal(sig syscall.Signal) error {
	_, err := h.call(context.Background(), request{Op: opSignal, Signal: int(sig)})
	return err
}

// Stop sends sig and has the executor send SIGKILL if the task is still alive
// after timeout. It returns at once; Wait observes the exit.
func (h *Handle) Stop(sig syscall.Signal, timeout time.Duration) error {
	_, err := h.call(context.Background(), request{Op: opStop, Signal: int(sig), Timeout: timeout})
	return err
}

// Wait blocks until the task exits (or ctx ends) and returns its status.
func (h *Handle) Wait(ctx context.Context) (*ExitStatus, error) {
	resp, err := h.call(ctx, request{Op: opWait})
	if err == nil && resp.Exit != nil {
		return resp.Exit, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	// The executor is gone (or going): the status file is the record.
	return h.recordedExit()
}

// Exited returns the task's exit status if it has exited, or nil while it runs.
func (h *Handle) Exited() (*ExitStatus, error) {
	resp, err := h.call(context.Background(), request{Op: opStatus})
	if err == nil {
		return resp.Exit, nil
	}
	return h.recordedExit()
}

// recordedExit reads the status file of an executor that can no longer be
// asked. An executor still alive may simply be between writing the file and
// exiting, so its absence is an error only once the executor is gone.
func (h *Handle) recordedExit() (*ExitStatus, error) {
	st, ok, err := ReadExitStatus(h.StatusPath)
	if err != nil {
		return nil, err
	}
	if ok {
		return st, nil
	}
	if h.ExecutorAlive() {
		return nil, fmt.Errorf("executor %d is not answering on %s", h.ExecutorPID, h.Socket)
	}
	h.killOrphan()
	return nil, ErrExecutorLost
}

// call sends one request and reads one response. Only wait may block past
// dialTimeout; it is bounded by ctx instead.
func (h *Handle) call(ctx context.Context, req request) (*response, error) {
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "unix", h.Socket)
	if err != nil {
		return nil, fmt.Errorf("connect to executor: %w", err)
	}
	defer conn.Close()
	if req.Op != opWait {
		_ = conn.SetDeadline(time.Now().Add(dialTimeout))
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if _, err := conn.Write(encodeLine(req)); err != nil {
		return nil, fmt.Errorf("executor %s: %w", req.Op, err)
	}
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("executor %s: %w", req.Op, err)
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		return nil, fmt.Errorf("executor %s: decode: %w", req.Op, err)
	}
	if resp.Error != "" {
		return &resp, fmt.Errorf("executor %s: %s", req.Op, resp.Error)
	}
	return &resp, nil
}

// KillWait is how long a task SIGKILLed through its executor may take to
// be reported dead.
const KillWait = 30 * time.Second

// StopTask signals the task (sig, then SIGKILL after timeout) unless exit
// says it is gone already; an error of a task that exited meanwhile is no
// error.
func (h *Handle) StopTask(id string, exit *drivers.Exit, sig syscall.Signal, timeout time.Duration) error {
	if exit.Exited() {
		return nil
	}
	if err := h.Stop(sig, timeout); err != nil && !exit.Exited() {
		return fmt.Errorf("stop task %s: %w", id, err)
	}
	return nil
}

// KillTask SIGKILLs the task and waits until exit reports it dead.
func (h *Handle) KillTask(id string, exit *drivers.Exit) error {
	if err := h.StopTask(id, exit, syscall.SIGKILL, 0); err != nil {
		return err
	}
	select {
	case <-exit.Done():
		return nil
	case <-time.After(KillWait):
		return fmt.Errorf("task %s still running %v after SIGKILL", id, KillWait)
	}
}

// waitRetryDelay spaces the attempts of WaitExit after an error that does
// not end the task (a broken connection to a live executor).
const waitRetryDelay = time.Second

// WaitExit blocks on the executor until the task exits and records the exit
// in exit. It returns early, recording nothing, when ctx ends (the driver
// shuts down: the task lives on for the next client). When the executor is
// lost, onLost runs (it may be nil) before the loss is recorded as the exit.
func (h *Handle) WaitExit(ctx context.Context, exit *drivers.Exit, logger *slog.Logger, onLost func()) {
	for {
		st, err := h.Wait(ctx)
		switch {
		case err == nil:
			var stErr error
			if st.Err != "" {
				stErr = errors.New(st.Err)
			}
			exit.Finish(&drivers.ExitResult{ExitCode: st.ExitCode, Signal: st.Signal, OOMKilled: st.OOMKilled, Err: stErr}, st.ExitedAt)
			return
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrExecutorLost):
			if onLost != nil {
				onLost()
			}
			exit.Finish(&drivers.ExitResult{ExitCode: -1, Err: err}, time.Now())
			return
		}
		logger.Warn("waiting on executor", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(waitRetryDelay):
		}
	}
}
