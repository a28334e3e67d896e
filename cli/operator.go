package cli

import "github.com/spf13/cobra"

// operatorCommand is `roam operator`: cluster-wide administration.
func (a *app) operatorCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "operator", Short: "Administer the cluster"}
	root := &cobra.Command{Use: "root", Short: "Manage the cluster's root keys"}
	keyring := &cobra.Command{Use: "keyring", Short: "List and rotate the keys that sign workload identities"}
	keyring.AddCommand(a.keyringListCommand(), a.keyringRotateCommand())
	root.AddCommand(keyring)
	cmd.AddCommand(root, a.operatorRaftCommand(), a.operatorAutopilotCommand(), a.operatorSnapshotCommand())
	return cmd
}
