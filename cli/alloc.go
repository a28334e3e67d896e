package cli

import "github.com/spf13/cobra"

// allocCommand is `roam alloc`.
func (a *app) allocCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "alloc", Short: "Inspect, stop and reach into allocations"}
	cmd.AddCommand(
		a.allocStatusCommand(), a.allocStopCommand(),
		a.allocLogsCommand(), a.allocFSCommand(), a.allocExecCommand(),
		a.allocRestartCommand(), a.allocSignalCommand(),
	)
	return cmd
}
