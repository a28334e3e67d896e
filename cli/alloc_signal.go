package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// allocSignalCommand is `roam alloc signal <alloc> [task]`: send a signal to
// a task, or to every running task.
func (a *app) allocSignalCommand() *cobra.Command {
	var task, sig string
	cmd := &cobra.Command{
		Use:               "signal [flags] <alloc> [task]",
		ValidArgsFunction: a.completeAllocs(),
		Short:             "Send a signal to a task (all running tasks if none is named)",
		Args:              cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			al, err := allocArg(c, w, args[0], false)
			if err != nil {
				return err
			}
			name, err := taskArg(task, args, 1)
			if err != nil {
				return err
			}
			if name != "" {
				if name, err = pickTask(al, name); err != nil {
					return err
				}
			}
			if err := c.Allocations().Signal(al.ID, name, sig, nil); err != nil {
				return fmt.Errorf("signal allocation %q: %w", shortID(al.ID, false), err)
			}
			what := "all running tasks"
			if name != "" {
				what = fmt.Sprintf("task %q", name)
			}
			fmt.Fprintf(w, "Sent %s to %s of allocation %q\n", sig, what, shortID(al.ID, false))
			return nil
		},
	}
	cmd.Flags().StringVarP(&sig, "signal", "s", "SIGKILL", "the signal to send")
	cmd.Flags().StringVar(&task, "task", "", "the task to signal (default: all running tasks)")
	return cmd
}
