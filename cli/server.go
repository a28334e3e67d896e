package cli

import "github.com/spf13/cobra"

// serverCommand is `roam server`.
func (a *app) serverCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "server", Short: "Inspect the servers"}
	cmd.AddCommand(a.serverMembersCommand(), a.serverJoinCommand())
	return cmd
}
