package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// keyringListCommand is `roam operator root keyring list`.
func (a *app) keyringListCommand() *cobra.Command {
	var out *outputFlags
	var verbose bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the identity signing keys (metadata only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			keys, _, err := c.Operator().Keyring().List(nil)
			if err != nil {
				return fmt.Errorf("list keyring: %w", err)
			}
			if out.wanted() {
				return out.print(cmd.OutOrStdout(), keys)
			}
			printKeys(cmd.OutOrStdout(), keys, verbose)
			return nil
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print full key IDs")
	out = addOutputFlags(cmd)
	return cmd
}

// keyringRotateCommand is `roam operator root keyring rotate`.
func (a *app) keyringRotateCommand() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new key sign identities; older keys keep verifying",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			key, _, err := c.Operator().Keyring().Rotate(nil)
			if err != nil {
				return fmt.Errorf("rotate keyring: %w", err)
			}
			printKeys(cmd.OutOrStdout(), []*api.RootKeyMeta{key}, verbose)
			return nil
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print the full key ID")
	return cmd
}

func printKeys(w io.Writer, keys []*api.RootKeyMeta, verbose bool) {
	rows := [][]string{{"Key", "State", "Create Time"}}
	for _, k := range keys {
		rows = append(rows, []string{shortID(k.KeyID, verbose), string(k.State), formatUnixNano(k.CreateTime)})
	}
	fmt.Fprint(w, table(rows))
}
