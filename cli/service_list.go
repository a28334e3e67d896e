package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// serviceListCommand is `roam service list`.
func (a *app) serviceListCommand() *cobra.Command {
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List registered services and their tags",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			list, _, err := c.Services().List(nil)
			if err != nil {
				return fmt.Errorf("list services: %w", err)
			}
			if out.wanted() {
				return out.print(cmd.OutOrStdout(), list)
			}
			writeServiceList(cmd.OutOrStdout(), list)
			return nil
		},
	}
	out = addOutputFlags(cmd)
	return cmd
}

func writeServiceList(w io.Writer, list []*api.ServiceRegistrationListStub) {
	rows := [][]string{{"Service Name", "Namespace", "Tags"}}
	for _, ns := range list {
		for _, s := range ns.Services {
			rows = append(rows, []string{s.ServiceName, ns.Namespace, "[" + strings.Join(s.Tags, ",") + "]"})
		}
	}
	if len(rows) == 1 {
		fmt.Fprintln(w, "No services found")
		return
	}
	fmt.Fprint(w, table(rows))
}
