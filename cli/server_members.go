package cli

import (
	"fmt"
	"net"
	"sort"

	"github.com/spf13/cobra"
)

// serverMembersCommand is `roam server members`.
func (a *app) serverMembersCommand() *cobra.Command {
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "members",
		Short: "List the servers of the region",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			members, err := c.Agent().Members()
			if err != nil {
				return fmt.Errorf("list server members: %w", err)
			}
			w := cmd.OutOrStdout()
			if out.wanted() {
				return out.print(w, members)
			}
			leader, _ := c.Status().Leader()
			sort.Slice(members.Members, func(i, j int) bool { return members.Members[i].Name < members.Members[j].Name })
			rows := [][]string{{"Name", "Address", "Port", "Status", "Leader", "Raft Version", "Build", "Datacenter", "Region"}}
			for _, m := range members.Members {
				rpc := net.JoinHostPort(m.Tags["rpc_addr"], m.Tags["port"])
				rows = append(rows, []string{m.Name, m.Addr, fmt.Sprint(m.Port), m.Status, fmt.Sprint(leader != "" && rpc == leader),
					m.Tags["raft_vsn"], m.Tags["build"], m.Tags["dc"], m.Tags["region"]})
			}
			fmt.Fprint(w, table(rows))
			return nil
		},
	}
	out = addOutputFlags(cmd)
	return cmd
}
