package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// allocExecCommand is `roam alloc exec <alloc> <command> [args...]`: run a
// command inside a running task, with the caller's terminal when -t; the
// command's exit code becomes ours.
func (a *app) allocExecCommand() *cobra.Command {
	var task, escape string
	var interactive, tty, byJob bool
	cmd := &cobra.Command{
		Use:               "exec [flags] <alloc> <command> [args...]",
		ValidArgsFunction: a.completeAllocs(),
		Short:             "Run a command inside a running task",
		Long: "Run a command in a task's environment (for exec and java tasks: inside its\n" +
			"namespaces and root). Flags come before the allocation; everything after the\n" +
			"command is its arguments. With a terminal, typing the escape character (~) at\n" +
			"the start of a line then \".\" ends the session.",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			al, err := allocArg(c, cmd.OutOrStdout(), args[0], byJob)
			if err != nil {
				return err
			}
			if task, err = pickTask(al, task); err != nil {
				return err
			}
			fd, isTerm := terminalFD(a.opts.Stdin)
			if !cmd.Flags().Changed("tty") {
				tty = isTerm
			}
			s := &execSetup{
				o:  &api.ExecOptions{Task: task, Command: args[1:], Tty: tty, Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr()},
				fd: fd, isTerm: isTerm, escape: escape,
			}
			if interactive {
				s.o.Stdin = a.opts.Stdin
			}
			code, err := s.run(cmd.Context(), c, al.ID)
			if err != nil {
				return fmt.Errorf("exec in task %q: %w", task, err)
			}
			if code != 0 {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // flags after the command are the command's
	f.StringVar(&task, "task", "", "the task to run in (default: the allocation's only task)")
	f.BoolVarP(&interactive, "interactive", "i", true, "pass stdin to the command")
	f.BoolVarP(&tty, "tty", "t", false, "allocate a pseudo-terminal (default: when stdin is a terminal)")
	f.StringVarP(&escape, "escape", "e", "~", `escape character for a terminal session, or "none"`)
	f.BoolVar(&byJob, "job", false, "the argument is a job ID: use its newest running allocation")
	return cmd
}

// execSetup prepares the local terminal around an exec session.
type execSetup struct {
	o      *api.ExecOptions
	fd     int
	isTerm bool
	escape string
}

func (s *execSetup) run(ctx context.Context, c *api.Client, allocID string) (int, error) {
	if len(s.escape) > 1 && s.escape != "none" {
		return -1, fmt.Errorf("-e must be a single character or \"none\"")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.o.Tty && s.isTerm {
		restore, err := makeRaw(s.fd)
		if err != nil {
			return -1, fmt.Errorf("terminal raw mode: %w", err)
		}
		defer restore()
		stop := make(chan struct{})
		defer close(stop)
		s.o.Resize = watchSize(s.fd, stop)
		if s.o.Stdin != nil && s.escape != "none" {
			s.o.Stdin = newEscapeReader(s.o.Stdin, s.escape[0], cancel)
		}
	}
	code, err := c.Allocations().Exec(ctx, allocID, s.o, nil)
	if err != nil && ctx.Err() != nil {
		fmt.Fprintln(errWriter(s.o), "\r\nsession closed")
		return 0, nil
	}
	return code, err
}

func errWriter(o *api.ExecOptions) io.Writer {
	if o.Stderr != nil {
		return o.Stderr
	}
	return io.Discard
}
