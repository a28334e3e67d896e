package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// jobPeriodicCommand is `roam job periodic`, the parent of periodic job
// operations.
func (a *app) jobPeriodicCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "periodic",
		Short: "Operate on periodic jobs",
	}
	cmd.AddCommand(a.jobPeriodicForceCommand())
	return cmd
}

// jobPeriodicForceCommand is `roam job periodic force <job>`: launch a
// child now, whatever the schedule and prohibit_overlap say.
func (a *app) jobPeriodicForceCommand() *cobra.Command {
	var detach, verbose bool
	cmd := &cobra.Command{
		Use:               "force [flags] <job>",
		ValidArgsFunction: a.completeJobs(),
		Short:             "Launch a periodic job's child now",
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			id, err := resolveJob(c, out, args[0])
			if err != nil {
				return err
			}
			resp, _, err := c.Jobs().PeriodicForce(id, nil)
			if err != nil {
				return fmt.Errorf("force periodic job %q: %w", id, err)
			}
			if detach || resp.EvalID == "" {
				fmt.Fprintln(out, "Force periodic successful")
			}
			return a.monitorOrDetach(cmd.Context(), c, out, resp.EvalID, detach, verbose)
		},
	}
	cmd.Flags().BoolVar(&detach, "detach", false, "return after launching, printing the evaluation ID")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print full IDs")
	return cmd
}
