package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// evalListCommand is `roam eval list`, in Nomad's columns.
func (a *app) evalListCommand() *cobra.Command {
	var verbose bool
	var job, status, filter string
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List evaluations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			q := &api.QueryOptions{Filter: filter, Params: map[string]string{}}
			if job != "" {
				q.Params["job"] = job
			}
			if status != "" {
				q.Params["status"] = status
			}
			evals, _, err := c.Evaluations().List(q)
			if err != nil {
				return fmt.Errorf("list evaluations: %w", err)
			}
			evals = filterEvals(evals, job, status)
			w := cmd.OutOrStdout()
			if out.wanted() {
				return out.print(w, evals)
			}
			if len(evals) == 0 {
				fmt.Fprintln(w, "No evals found")
				return nil
			}
			fmt.Fprint(w, evalListTable(evals, verbose))
			return nil
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print full IDs")
	cmd.Flags().StringVar(&job, "job", "", "only the evaluations of this job ID")
	cmd.Flags().StringVar(&status, "status", "", "only the evaluations with this status")
	cmd.Flags().StringVar(&filter, "filter", "", "filter expression over the evaluations")
	out = addOutputFlags(cmd)
	return cmd
}

// filterEvals keeps those of job and status ("" is any), whether or not
// the agent filtered already.
func filterEvals(evals []*api.Evaluation, job, status string) []*api.Evaluation {
	out := evals[:0:0]
	for _, e := range evals {
		if (job == "" || e.JobID == job) && (status == "" || string(e.Status) == status) {
			out = append(out, e)
		}
	}
	return out
}

func evalListTable(evals []*api.Evaluation, verbose bool) string {
	rows := [][]string{{"ID", "Priority", "Triggered By", "Job ID", "Namespace", "Node ID", "Status", "Placement Failures"}}
	for _, e := range evals {
		node := ""
		if e.NodeID != "" {
			node = shortID(e.NodeID, verbose)
		}
		rows = append(rows, []string{
			shortID(e.ID, verbose), strconv.Itoa(e.Priority), string(e.TriggeredBy), e.JobID, e.Namespace,
			node, string(e.Status), strconv.FormatBool(len(e.FailedTGAllocs) > 0),
		})
	}
	return table(rows)
}
