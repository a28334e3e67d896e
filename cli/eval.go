package cli

import "github.com/spf13/cobra"

// evalCommand is `roam eval`.
func (a *app) evalCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "eval", Short: "Inspect evaluations"}
	cmd.AddCommand(a.evalStatusCommand(), a.evalListCommand())
	return cmd
}
