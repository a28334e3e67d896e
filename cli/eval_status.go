package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// evalStatusCommand is `roam eval status <eval>`.
func (a *app) evalStatusCommand() *cobra.Command {
	var verbose bool
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "status [flags] <eval>",
		Short: "Show an evaluation and why it could not place allocations",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			id, err := resolveEval(c, w, args[0])
			if err != nil {
				return err
			}
			eval, _, err := c.Evaluations().Info(id, nil)
			if err != nil {
				return fmt.Errorf("read evaluation %q: %w", shortID(id, false), err)
			}
			if out.wanted() {
				return out.print(w, eval)
			}
			writeEvalStatus(w, eval, verbose)
			return nil
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print full IDs")
	out = addOutputFlags(cmd)
	return cmd
}

func writeEvalStatus(w io.Writer, e *api.Evaluation, verbose bool) {
	pairs := [][2]string{
		{"ID", shortID(e.ID, verbose)}, {"Create Time", formatUnixNano(e.CreateTime)},
		{"Modify Time", formatUnixNano(e.ModifyTime)}, {"Status", string(e.Status)},
		{"Status Description", orNone(e.StatusDescription)}, {"Type", string(e.Type)},
		{"TriggeredBy", string(e.TriggeredBy)}, {"Job ID", e.JobID}, {"Namespace", e.Namespace},
		{"Priority", fmt.Sprint(e.Priority)}, {"Placement Failures", fmt.Sprint(len(e.FailedTGAllocs) > 0)},
	}
	if e.NodeID != "" {
		pairs = append(pairs, [2]string{"Node ID", shortID(e.NodeID, verbose)})
	}
	for _, p := range [][2]string{{"Previous Eval", e.PreviousEval}, {"Next Eval", e.NextEval}, {"Blocked Eval", e.BlockedEval}} {
		if p[1] != "" {
			pairs = append(pairs, [2]string{p[0], shortID(p[1], verbose)})
		}
	}
	fmt.Fprint(w, kv(pairs))
	if len(e.FailedTGAllocs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nFailed Placements\n%s", failedPlacements(e.FailedTGAllocs, "", "  "))
	if e.BlockedEval != "" {
		fmt.Fprintf(w, "\nEvaluation %q waiting for additional capacity to place remainder\n", shortID(e.BlockedEval, verbose))
	}
}
