package cli

import "github.com/spf13/cobra"

// serviceCommand is `roam service`.
func (a *app) serviceCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "service", Short: "Inspect the service catalog"}
	cmd.AddCommand(a.serviceListCommand(), a.serviceInfoCommand())
	return cmd
}
