package cli

import (
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// operatorRaftCommand is `roam operator raft`.
func (a *app) operatorRaftCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "raft", Short: "Inspect and change the Raft configuration of the servers"}
	cmd.AddCommand(a.raftListPeersCommand(), a.raftRemovePeerCommand())
	return cmd
}

// raftListPeersCommand is `roam operator raft list-peers`, in Nomad's
// columns.
func (a *app) raftListPeersCommand() *cobra.Command {
	var out *outputFlags
	var stale bool
	cmd := &cobra.Command{
		Use:   "list-peers",
		Short: "List the servers of the Raft configuration, the leader and who votes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			conf, err := c.Operator().RaftConfiguration(&api.QueryOptions{AllowStale: stale})
			if err != nil {
				return fmt.Errorf("read raft configuration: %w", err)
			}
			if out.wanted() {
				return out.print(cmd.OutOrStdout(), conf)
			}
			sort.Slice(conf.Servers, func(i, j int) bool { return conf.Servers[i].Node < conf.Servers[j].Node })
			rows := [][]string{{"Node", "ID", "Address", "State", "Voter", "RaftProtocol"}}
			for _, s := range conf.Servers {
				state := "follower"
				if s.Leader {
					state = "leader"
				}
				rows = append(rows, []string{s.Node, s.ID, s.Address, state, strconv.FormatBool(s.Voter), s.RaftProtocol})
			}
			fmt.Fprint(cmd.OutOrStdout(), table(rows))
			return nil
		},
	}
	cmd.Flags().BoolVar(&stale, "stale", false, "let any server answer from its own state (works without a leader)")
	out = addOutputFlags(cmd)
	return cmd
}

// raftRemovePeerCommand is `roam operator raft remove-peer`.
func (a *app) raftRemovePeerCommand() *cobra.Command {
	var id, addr string
	cmd := &cobra.Command{
		Use:   "remove-peer",
		Short: "Remove a server (gone for good) from the Raft configuration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (id == "") == (addr == "") {
				return errors.New("give exactly one of -peer-id and -peer-address")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			peer := id
			if addr != "" {
				peer = addr
			}
			if err := c.Operator().RaftRemovePeer(peer, addr != ""); err != nil {
				return fmt.Errorf("remove raft peer %s: %w", peer, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed peer %s\n", peer)
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "peer-id", "", "ID of the server to remove (see list-peers)")
	cmd.Flags().StringVar(&addr, "peer-address", "", "address (ip:port) of the server to remove")
	return cmd
}

// operatorAutopilotCommand is `roam operator autopilot health`.
func (a *app) operatorAutopilotCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "autopilot", Short: "Inspect autopilot's view of the servers and its configuration"}
	var out *outputFlags
	health := &cobra.Command{
		Use:   "health",
		Short: "Show every server's health and the cluster's failure tolerance",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			h, err := c.Operator().AutopilotHealth(nil)
			if err != nil {
				return fmt.Errorf("read autopilot health: %w", err)
			}
			if out.wanted() {
				return out.print(cmd.OutOrStdout(), h)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Healthy: %v\nFailure Tolerance: %d\n\n", h.Healthy, h.FailureTolerance)
			rows := [][]string{{"Name", "ID", "Address", "Status", "Leader", "Voter", "Healthy", "Last Contact", "Last Index"}}
			for _, s := range h.Servers {
				rows = append(rows, []string{s.Name, s.ID, s.Address, s.SerfStatus, strconv.FormatBool(s.Leader), strconv.FormatBool(s.Voter),
					strconv.FormatBool(s.Healthy), s.LastContact.String(), strconv.FormatUint(s.LastIndex, 10)})
			}
			fmt.Fprint(w, table(rows))
			return nil
		},
	}
	out = addOutputFlags(health)
	cmd.AddCommand(health, a.autopilotGetConfigCommand(), a.autopilotSetConfigCommand())
	return cmd
}

// serverJoinCommand is `roam server join ADDR...`.
func (a *app) serverJoinCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "join ADDRESS...",
		Short: "Make the agent's server join the cluster of the servers at the addresses (host:port, port 4647 by default)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			n, err := c.Agent().Join(args...)
			if err != nil {
				return fmt.Errorf("join: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Joined %d servers successfully\n", n)
			return nil
		},
	}
}
