package rawexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/roam-sh/roam/drivers"
)

// ExecTask runs cmd in the task's directory with the task's environment and
// returns its output. raw_exec has no isolation, so it is a plain child of the
// client.
func (d *Driver) ExecTask(taskID string, cmd []string, timeout time.Duration) (*drivers.ExecResult, error) {
	t, err := d.get(taskID)
	if err != nil {
		return nil, err
	}
	if len(cmd) == 0 {
		return nil, errors.New("exec: no command")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := exec.CommandContext(ctx, cmd[0], cmd[1:]...)
	c.Dir = t.cfg.TaskDir.Dir
	c.Env = t.cfg.EnvList()
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	res := &drivers.ExecResult{ExitResult: &drivers.ExitResult{}}
	err = c.Run()
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.ExitResult.ExitCode = ee.ExitCode()
	case err != nil:
		return nil, fmt.Errorf("exec in task %s: %w", taskID, err)
	}
	return res, nil
}
