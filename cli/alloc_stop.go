package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// allocStopCommand is `roam alloc stop <alloc>`: stop one allocation; the
// scheduler places a replacement.
func (a *app) allocStopCommand() *cobra.Command {
	var detach, verbose bool
	cmd := &cobra.Command{
		Use:               "stop [flags] <alloc>",
		ValidArgsFunction: a.completeAllocs(),
		Short:             "Stop an allocation (it is replaced)",
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			id, err := resolveAlloc(c, out, args[0])
			if err != nil {
				return err
			}
			resp, _, err := c.Allocations().Stop(id, nil)
			if err != nil {
				return fmt.Errorf("stop allocation %q: %w", shortID(id, false), err)
			}
			return a.monitorOrDetach(cmd.Context(), c, out, resp.EvalID, detach, verbose)
		},
	}
	cmd.Flags().BoolVar(&detach, "detach", false, "return after stopping, printing the evaluation ID")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print full IDs")
	return cmd
}
