package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// varLockCommand is `roam var lock [options] <path> <command> [args...]`:
// run a command while holding a variable's lock, renewing it, and release
// it when the command exits. If the lock is lost (the servers could not
// be reached to renew it before its TTL), the command is killed, since
// another holder may take the lock after the lock delay.
func (a *app) varLockCommand() *cobra.Command {
	var ttl, delay time.Duration
	var maxRetry int
	var shell bool
	cmd := &cobra.Command{
		Use:   "lock <path> <command> [args...]",
		Short: "Run a command while holding a variable's lock",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			want := &api.Variable{VariableMetadata: api.VariableMetadata{Path: args[0], Lock: &api.VariableLock{TTL: ttl, LockDelay: delay}}}
			held, err := acquireWithRetry(cmd.Context(), c, want, maxRetry, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Lock on %q acquired\n", held.Path)
			code, runErr := a.runLocked(cmd, c, held, args[1:], shell)
			if _, _, err := c.Variables().ReleaseLock(held, nil); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "release lock on %q: %v\n", held.Path, err)
			}
			if runErr != nil {
				return runErr
			}
			if code != 0 {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", 15*time.Second, "how long the lock lives without a renewal (10s to 24h)")
	cmd.Flags().DurationVar(&delay, "delay", 15*time.Second, "how long a lapsed lock stays unavailable to others")
	cmd.Flags().IntVar(&maxRetry, "max-retry", 5, "attempts to take a lock another holder has")
	cmd.Flags().BoolVar(&shell, "shell", false, "run the command through /bin/sh -c")
	// Flags after <path> belong to the child command.
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// acquireWithRetry takes the lock, waiting between attempts while another
// holder has it.
func acquireWithRetry(ctx context.Context, c *api.Client, want *api.Variable, maxRetry int, ttl time.Duration) (*api.Variable, error) {
	wait := time.Second
	for attempt := 0; ; attempt++ {
		held, _, err := c.Variables().AcquireLock(want, &api.WriteOptions{Ctx: ctx})
		var ce *api.CASConflictError
		switch {
		case err == nil:
			return held, nil
		case !errors.As(err, &ce) || attempt >= maxRetry:
			return nil, fmt.Errorf("acquire lock on %q: %w", want.Path, err)
		}
		t := time.NewTimer(min(wait, ttl))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}

// runLocked runs the child, renewing the lock every third of its TTL, and
// returns the child's exit code.
func (a *app) runLocked(cmd *cobra.Command, c *api.Client, held *api.Variable, argv []string, shell bool) (int, error) {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	if shell {
		argv = []string{"/bin/sh", "-c", joinArgs(argv)}
	}
	child := exec.CommandContext(ctx, argv[0], argv[1:]...)
	child.Stdin, child.Stdout, child.Stderr = a.opts.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()
	child.Env = os.Environ()
	if err := child.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", argv[0], err)
	}
	go renewLock(ctx, cancel, c, held, cmd)
	err := child.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		if ctx.Err() != nil && cmd.Context().Err() == nil {
			return 0, fmt.Errorf("lock on %q lost; the command was stopped", held.Path)
		}
		return ee.ExitCode(), nil
	}
	return 0, fmt.Errorf("run %s: %w", argv[0], err)
}

// renewLock renews until ctx ends; a renewal refused or failing past the
// TTL cancels ctx, which kills the child.
func renewLock(ctx context.Context, cancel context.CancelFunc, c *api.Client, held *api.Variable, cmd *cobra.Command) {
	ttl := held.Lock.TTL
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := c.Variables().RenewLock(held, &api.WriteOptions{Ctx: ctx}); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "renew lock on %q: %v\n", held.Path, err)
			if api.StatusCode(err) != 0 || time.Since(last) > ttl {
				cancel()
				return
			}
			continue
		}
		last = time.Now()
	}
}

func joinArgs(argv []string) string {
	s := ""
	for i, a := range argv {
		if i > 0 {
			s += " "
		}
		s += a
	}
	return s
}
