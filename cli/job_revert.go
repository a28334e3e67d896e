package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

// jobRevertCommand is `roam job revert <job> <version>`.
func (a *app) jobRevertCommand() *cobra.Command {
	var detach, verbose bool
	cmd := &cobra.Command{
		Use:               "revert [flags] <job> <version>",
		ValidArgsFunction: a.completeJobs(),
		Short:             "Revert a job to an earlier version",
		Args:              cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			version, err := strconv.ParseUint(args[1], 10, 64)
			if err != nil {
				return fmt.Errorf("invalid version %q: must be a non-negative integer", args[1])
			}
			return a.jobRevert(cmd, args[0], version, detach, verbose)
		},
	}
	cmd.Flags().BoolVar(&detach, "detach", false, "return after reverting, printing the evaluation ID")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print full IDs")
	return cmd
}

func (a *app) jobRevert(cmd *cobra.Command, prefix string, version uint64, detach, verbose bool) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	id, err := resolveJob(c, out, prefix)
	if err != nil {
		return err
	}
	resp, _, err := c.Jobs().Revert(id, version, nil, nil)
	if err != nil {
		return fmt.Errorf("revert job %q: %w", id, err)
	}
	if resp.EvalID == "" || detach {
		fmt.Fprintf(out, "Job %q reverted to version %d\n", id, version)
	}
	return a.monitorOrDetach(cmd.Context(), c, out, resp.EvalID, detach, verbose)
}
