package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// allocRestartCommand is `roam alloc restart <alloc> [task]`: restart tasks
// in place, without counting against their restart policy.
func (a *app) allocRestartCommand() *cobra.Command {
	var task string
	var allTasks bool
	cmd := &cobra.Command{
		Use:               "restart [flags] <alloc> [task]",
		ValidArgsFunction: a.completeAllocs(),
		Short:             "Restart a task, or all running tasks, of an allocation in place",
		Args:              cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			if len(args) > 1 || task != "" {
				if allTasks {
					return fmt.Errorf("-all-tasks restarts every task; do not name one")
				}
			}
			t, err := a.resolveAllocTarget(w, args, task)
			if err != nil {
				return err
			}
			if err := t.client.Allocations().Restart(t.alloc.ID, t.task, allTasks, nil); err != nil {
				return fmt.Errorf("restart allocation %q: %w", shortID(t.alloc.ID, false), err)
			}
			fmt.Fprintf(w, "Restarted %s of allocation %q\n", t.what(), shortID(t.alloc.ID, false))
			return nil
		},
	}
	cmd.Flags().StringVar(&task, "task", "", "the task to restart (default: all running tasks)")
	cmd.Flags().BoolVar(&allTasks, "all-tasks", false, "restart every running task")
	return cmd
}
