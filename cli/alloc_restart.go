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
			if name != "" && allTasks {
				return fmt.Errorf("-all-tasks restarts every task; do not name one")
			}
			if name != "" {
				if name, err = pickTask(al, name); err != nil {
					return err
				}
			}
			if err := c.Allocations().Restart(al.ID, name, allTasks, nil); err != nil {
				return fmt.Errorf("restart allocation %q: %w", shortID(al.ID, false), err)
			}
			what := "all running tasks"
			if name != "" {
				what = fmt.Sprintf("task %q", name)
			}
			fmt.Fprintf(w, "Restarted %s of allocation %q\n", what, shortID(al.ID, false))
			return nil
		},
	}
	cmd.Flags().StringVar(&task, "task", "", "the task to restart (default: all running tasks)")
	cmd.Flags().BoolVar(&allTasks, "all-tasks", false, "restart every running task")
	return cmd
}
