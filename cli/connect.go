package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// connectCommand is `roam connect`: the mesh's certificate authority.
func (a *app) connectCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "connect", Short: "Inspect and rotate the service mesh's certificate authority"}
	caCmd := &cobra.Command{Use: "ca", Short: "The mesh CA's roots"}
	caCmd.AddCommand(a.connectCARootsCommand(), a.connectCARotateCommand())
	cmd.AddCommand(caCmd)
	return cmd
}

// connectCARootsCommand is `roam connect ca roots`.
func (a *app) connectCARootsCommand() *cobra.Command {
	var out *outputFlags
	var pem bool
	cmd := &cobra.Command{
		Use:   "roots",
		Short: "List the CA's roots (the active one signs new certificates)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			roots, _, err := c.Connect().CARoots(nil)
			if err != nil {
				return fmt.Errorf("read connect CA roots: %w", err)
			}
			if out.wanted() {
				return out.print(cmd.OutOrStdout(), roots)
			}
			printRoots(cmd.OutOrStdout(), roots, pem)
			return nil
		},
	}
	cmd.Flags().BoolVar(&pem, "pem", false, "print the active root's certificate in PEM")
	out = addOutputFlags(cmd)
	return cmd
}

func printRoots(w io.Writer, l *api.CARootList, pem bool) {
	if pem {
		for _, r := range l.Roots {
			if r.Active {
				fmt.Fprint(w, r.RootCert)
			}
		}
		return
	}
	fmt.Fprintf(w, "Trust Domain = %s\n\n", l.TrustDomain)
	rows := [][]string{{"ID", "Name", "Active", "Not After"}}
	for _, r := range l.Roots {
		rows = append(rows, []string{r.ID, r.Name, fmt.Sprint(r.Active), r.NotAfter.UTC().Format(time.RFC3339)})
	}
	fmt.Fprint(w, table(rows))
}

// connectCARotateCommand is `roam connect ca rotate`.
func (a *app) connectCARotateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rotate",
		Short: "Make a new root active, cross-signed by the old one; leaves are renewed at once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			id, _, err := c.Connect().CARotate(nil)
			if err != nil {
				return fmt.Errorf("rotate connect CA: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Rotated the connect CA: active root %s\n", id)
			return nil
		},
	}
}
