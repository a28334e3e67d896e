package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/roam-sh/roam/drivers"
)

// execPoll paces asking whether an exec whose output ended has exited.
const execPoll = 50 * time.Millisecond

// ExecTask runs cmd inside the task's container and returns its output and
// exit code (script checks, non-interactive `alloc exec`).
func (d *Driver) ExecTask(taskID string, cmd []string, timeout time.Duration) (*drivers.ExecResult, error) {
	return drivers.ExecCollected(timeout, cmd, func(ctx context.Context, o *drivers.ExecOptions) (*drivers.ExitResult, error) {
		return d.ExecTaskStreaming(ctx, taskID, o)
	})
}

// ExecTaskStreaming runs an interactive command inside the task's container
// (`alloc exec`), with a terminal when asked and its size changes.
func (d *Driver) ExecTaskStreaming(ctx context.Context, taskID string, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	t, err := d.get(taskID)
	if err != nil {
		return nil, err
	}
	if t.exit.Exited() {
		return nil, fmt.Errorf("exec in task %s: task is not running", taskID)
	}
	if len(opts.Command) == 0 {
		return nil, errors.New("exec: no command")
	}
	created, err := d.api.ExecCreate(ctx, t.state.ContainerID, client.ExecCreateOptions{
		Cmd: opts.Command, TTY: opts.Tty, AttachStdin: opts.Stdin != nil, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return nil, fmt.Errorf("exec in task %s: %w", taskID, err)
	}
	att, err := d.api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{TTY: opts.Tty})
	if err != nil {
		return nil, fmt.Errorf("exec in task %s: attach: %w", taskID, err)
	}
	defer att.Close()
	stop := context.AfterFunc(ctx, func() { att.Close() })
	defer stop()
	if opts.Stdin != nil {
		go func() {
			_, _ = io.Copy(att.Conn, opts.Stdin)
			_ = att.CloseWrite()
		}()
	}
	if opts.Tty && opts.Resize != nil {
		go d.resizeExec(ctx, created.ID, opts.Resize)
	}
	if err := copyExecOutput(att.Reader, opts); err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("exec in task %s: output: %w", taskID, err)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("exec in task %s: %w", taskID, ctx.Err())
	}
	return d.execExit(ctx, created.ID)
}

func copyExecOutput(r io.Reader, opts *drivers.ExecOptions) error {
	stdout, stderr := writerOrDiscard(opts.Stdout), writerOrDiscard(opts.Stderr)
	if opts.Tty {
		_, err := io.Copy(stdout, r)
		return err
	}
	_, err := stdcopy.StdCopy(stdout, stderr, r)
	return err
}

func writerOrDiscard(w interface{ Write([]byte) (int, error) }) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func (d *Driver) resizeExec(ctx context.Context, execID string, sizes <-chan drivers.TerminalSize) {
	for {
		select {
		case <-ctx.Done():
			return
		case s, ok := <-sizes:
			if !ok {
				return
			}
			_, err := d.api.ExecResize(ctx, execID, client.ExecResizeOptions{Height: uint(s.Height), Width: uint(s.Width)})
			if err != nil {
				d.logger.Debug("resizing exec terminal", "error", err)
			}
		}
	}
}

// execExit waits for the exec's process to be reported exited (its output
// can end a moment before) and returns its exit code.
func (d *Driver) execExit(ctx context.Context, execID string) (*drivers.ExitResult, error) {
	for {
		ins, err := d.api.ExecInspect(ctx, execID, client.ExecInspectOptions{})
		if err != nil {
			return nil, fmt.Errorf("exec: inspect: %w", err)
		}
		if !ins.Running {
			return &drivers.ExitResult{ExitCode: ins.ExitCode}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(execPoll):
		}
	}
}
