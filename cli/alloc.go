package cli

import "github.com/spf13/cobra"

// allocCommand is `roam alloc`.
func (a *app) allocCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "alloc", Short: "Inspect and stop allocations"}
	cmd.AddCommand(a.allocStatusCommand(), a.allocStopCommand())
	return cmd
}
