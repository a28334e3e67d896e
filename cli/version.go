package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// versionCommand is `roam version`.
func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the roam version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "roam v%s\n", a.opts.Version)
			return err
		},
	}
}
