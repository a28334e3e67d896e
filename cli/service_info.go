package cli

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// serviceInfoCommand is `roam service info <name>`.
func (a *app) serviceInfoCommand() *cobra.Command {
	var all, verbose bool
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "info [flags] <service>",
		Short: "List a service's instances (not critical ones, unless -all)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			q := &api.QueryOptions{}
			if all {
				q.Params = map[string]string{"all": "true"}
			}
			regs, _, err := c.Services().Get(args[0], q)
			if err != nil {
				return fmt.Errorf("read service %q: %w", args[0], err)
			}
			if out.wanted() {
				return out.print(cmd.OutOrStdout(), regs)
			}
			writeServiceInfo(cmd.OutOrStdout(), args[0], regs, verbose)
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "include critical instances")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print full IDs")
	out = addOutputFlags(cmd)
	return cmd
}

func writeServiceInfo(w io.Writer, name string, regs []*api.ServiceRegistration, verbose bool) {
	if len(regs) == 0 {
		fmt.Fprintf(w, "No instances of service %q\n", name)
		return
	}
	rows := [][]string{{"Job ID", "Address", "Tags", "Health", "Node ID", "Alloc ID"}}
	for _, r := range regs {
		rows = append(rows, []string{r.JobID, net.JoinHostPort(r.Address, strconv.Itoa(r.Port)), "[" + strings.Join(r.Tags, ",") + "]",
			string(r.Health.Normalize()), shortID(r.NodeID, verbose), shortID(r.AllocID, verbose)})
	}
	fmt.Fprint(w, table(rows))
}
