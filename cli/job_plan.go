package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// Exit codes of `job plan`, as scripts written for Nomad expect them.
const (
	planNoChange = 0
	planChanges  = 1
	planError    = 255
)

// jobPlanCommand is `roam job plan <file>`: a dry run of the scheduler
// showing the diff against the registered job and what would be placed.
func (a *app) jobPlanCommand() *cobra.Command {
	var files *jobFileFlags
	var verbose, jsonOut bool
	var noDiff bool
	cmd := &cobra.Command{
		Use:   "plan [flags] <file>",
		Short: "Show what running a job file would change, without changing anything",
		Long: "Exit code 0: no allocations would be created or destroyed; 1: allocations\n" +
			"would be created or destroyed; 255: error.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := a.jobPlan(cmd, args[0], files, !noDiff, verbose, jsonOut)
			if err != nil {
				var ee *ExitError
				if errors.As(err, &ee) {
					return &ExitError{Code: planError, Msg: ee.Msg}
				}
				return &ExitError{Code: planError, Msg: err.Error()}
			}
			if code != planNoChange {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	files = addJobFileFlags(cmd)
	cmd.Flags().BoolVar(&verbose, "verbose", false, "show unchanged fields and full IDs")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the plan response as JSON")
	cmd.Flags().BoolVar(&noDiff, "no-diff", false, "do not compute the diff against the registered job")
	return cmd
}

func (a *app) jobPlan(cmd *cobra.Command, path string, files *jobFileFlags, diff, verbose, jsonOut bool) (int, error) {
	pj, err := a.readJobFile(cmd.Context(), path, files)
	if err != nil {
		return planError, err
	}
	c, err := a.client()
	if err != nil {
		return planError, err
	}
	resp, _, err := c.Jobs().Plan(pj.job, diff, nil)
	if err != nil {
		return planError, fmt.Errorf("plan job: %w", err)
	}
	code := planExitCode(resp)
	out := cmd.OutOrStdout()
	if jsonOut {
		return code, printJSON(out, resp)
	}
	if resp.Diff != nil {
		fmt.Fprintln(out, formatJobDiff(resp.Diff, verbose))
	}
	writeDryRun(out, resp)
	if resp.Warnings != "" {
		fmt.Fprintf(out, "\nJob Warnings:\n%s\n", resp.Warnings)
	}
	writeCheckIndexHint(out, resp.JobModifyIndex, path)
	return code, nil
}

// planExitCode is 1 when the plan creates or destroys allocations.
func planExitCode(resp *api.JobPlanResponse) int {
	if resp.Annotations == nil {
		if resp.Diff != nil && (resp.Diff.Type == "Added" || resp.Diff.Type == "Deleted") {
			return planChanges
		}
		return planNoChange
	}
	for _, u := range resp.Annotations.DesiredTGUpdates {
		if u.Place+u.Stop+u.Migrate+u.DestructiveUpdate+u.Canary+u.Preemptions > 0 {
			return planChanges
		}
	}
	return planNoChange
}

func writeDryRun(w io.Writer, resp *api.JobPlanResponse) {
	fmt.Fprintln(w, "Scheduler dry-run:")
	if len(resp.FailedTGAllocs) == 0 {
		fmt.Fprintln(w, "- All tasks successfully allocated.")
		return
	}
	fmt.Fprintln(w, "- WARNING: Failed to place all allocations.")
	fmt.Fprint(w, failedPlacements(resp.FailedTGAllocs, "  ", "    "))
}

func writeCheckIndexHint(w io.Writer, index uint64, path string) {
	fmt.Fprintf(w, "\nJob Modify Index: %d\n", index)
	fmt.Fprintf(w, "To run exactly this plan, refusing if someone changes the job first:\n\n")
	fmt.Fprintf(w, "    roam job run -check-index %d %s\n\n", index, path)
	fmt.Fprintln(w, "With -check-index the servers register the job only if its modify index is")
	fmt.Fprintln(w, "still the one shown above; otherwise the run fails and you can plan again.")
}
