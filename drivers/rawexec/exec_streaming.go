package rawexec

import (
	"context"
	"errors"
	"fmt"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/executor"
)

// ExecTaskStreaming runs an interactive command beside the task (`alloc
// exec`): on the host, like the task, with its environment, user and working
// directory, in its network namespace when it has one.
func (d *Driver) ExecTaskStreaming(ctx context.Context, taskID string, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	t, err := d.get(taskID)
	if err != nil {
		return nil, err
	}
	if t.exit.Exited() {
		return nil, fmt.Errorf("exec in task %s: %w", taskID, executor.ErrTaskNotRunning)
	}
	var tc TaskConfig
	if err := drivers.DecodeConfig(t.cfg.Config, &tc); err != nil {
		return nil, fmt.Errorf("raw_exec config: %w", err)
	}
	req := &executor.ExecRequest{
		Command: opts.Command, Env: t.cfg.EnvList(), Dir: workDir(t.cfg.TaskDir.Dir, tc.WorkDir),
		User: t.cfg.User, Tty: opts.Tty, Resize: opts.Resize, Isolation: executor.ExecHost,
	}
	// Leave the streams nil unless set: a typed nil would not read as none.
	if opts.Stdin != nil {
		req.Stdin = opts.Stdin
	}
	if opts.Stdout != nil {
		req.Stdout = opts.Stdout
	}
	if opts.Stderr != nil {
		req.Stderr = opts.Stderr
	}
	if ni := t.cfg.NetworkIsolation; ni != nil {
		req.NetNSPath = ni.Path
	}
	st, err := t.exec.ExecStreaming(ctx, req)
	if err != nil {
		if errors.Is(err, executor.ErrTaskNotRunning) {
			return nil, fmt.Errorf("exec in task %s: %w", taskID, err)
		}
		return nil, err
	}
	return &drivers.ExitResult{ExitCode: st.ExitCode, Signal: st.Signal}, nil
}
