package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// nodeEligibilityCommand is `roam node eligibility -enable|-disable <node>`.
func (a *app) nodeEligibilityCommand() *cobra.Command {
	var enable, disable, self bool
	cmd := &cobra.Command{
		Use:               "eligibility -enable|-disable [flags] <node>",
		ValidArgsFunction: a.completeNodes(),
		Short:             "Allow or forbid placing new allocations on a node",
		Args:              cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if enable == disable {
				return fmt.Errorf("exactly one of -enable and -disable is required")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			id, err := nodeTarget(c, out, args, self)
			if err != nil {
				return err
			}
			if _, err := c.Nodes().ToggleEligibility(id, enable, nil); err != nil {
				return fmt.Errorf("update eligibility of node %q: %w", shortID(id, false), err)
			}
			state := "ineligible"
			if enable {
				state = "eligible"
			}
			fmt.Fprintf(out, "Node %q scheduling eligibility set: %s for scheduling\n", id, state)
			return nil
		},
	}
	cmd.Flags().BoolVar(&enable, "enable", false, "make the node eligible")
	cmd.Flags().BoolVar(&disable, "disable", false, "make the node ineligible")
	cmd.Flags().BoolVar(&self, "self", false, "act on the node of the agent the CLI talks to")
	return cmd
}
