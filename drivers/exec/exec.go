package exec

import (
	"context"
	"fmt"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/executor"
)

// ExecTask runs cmd inside the task (its namespaces, root and cgroup, as its
// user) and returns its output: script checks and one-off `alloc exec`.
func (d *Driver) ExecTask(taskID string, cmd []string, timeout time.Duration) (*drivers.ExecResult, error) {
	return drivers.ExecCollected(timeout, cmd, func(ctx context.Context, o *drivers.ExecOptions) (*drivers.ExitResult, error) {
		return d.ExecTaskStreaming(ctx, taskID, o)
	})
}

// ExecTaskStreaming runs an interactive command inside the task.
func (d *Driver) ExecTaskStreaming(ctx context.Context, taskID string, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	t, err := d.get(taskID)
	if err != nil {
		return nil, err
	}
	usr := t.cfg.User
	if usr == "" {
		usr = DefaultUser
	}
	req := &executor.ExecRequest{
		Command: opts.Command, Env: t.cfg.EnvList(), User: usr, Tty: opts.Tty,
		Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr, Resize: opts.Resize,
		Isolation: executor.ExecTaskNamespaces,
	}
	st, err := t.exec.ExecStreaming(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("exec in task %s: %w", taskID, err)
	}
	return &drivers.ExitResult{ExitCode: st.ExitCode, Signal: st.Signal}, nil
}
