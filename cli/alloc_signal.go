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
			w := cmd.OutOrStdout()
			t, err := a.resolveAllocTarget(w, args, task)
			if err != nil {
				return err
			}
			if err := t.client.Allocations().Signal(t.alloc.ID, t.task, sig, nil); err != nil {
				return fmt.Errorf("signal allocation %q: %w", shortID(t.alloc.ID, false), err)
			}
			fmt.Fprintf(w, "Sent %s to %s of allocation %q\n", sig, t.what(), shortID(t.alloc.ID, false))
			return nil
		},
	}
	cmd.Flags().StringVarP(&sig, "signal", "s", "SIGKILL", "the signal to send")
	cmd.Flags().StringVar(&task, "task", "", "the task to signal (default: all running tasks)")
	return cmd
}
