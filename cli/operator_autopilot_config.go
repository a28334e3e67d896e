package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// autopilotGetConfigCommand is `roam operator autopilot get-config`.
func (a *app) autopilotGetConfigCommand() *cobra.Command {
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "get-config",
		Short: "Show the autopilot configuration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			conf, err := c.Operator().AutopilotGetConfiguration(nil)
			if err != nil {
				return fmt.Errorf("read autopilot configuration: %w", err)
			}
			if out.wanted() {
				return out.print(cmd.OutOrStdout(), conf)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "CleanupDeadServers = %v\nLastContactThreshold = %s\nMaxTrailingLogs = %d\nMinQuorum = %d\nServerStabilizationTime = %s\n",
				conf.CleanupDeadServers, conf.LastContactThreshold, conf.MaxTrailingLogs, conf.MinQuorum, conf.ServerStabilizationTime)
			return nil
		},
	}
	out = addOutputFlags(cmd)
	return cmd
}

// autopilotSetConfigCommand is `roam operator autopilot set-config`: the
// flags given change the current configuration, written back with a
// check-and-set so a concurrent change is not overwritten.
func (a *app) autopilotSetConfigCommand() *cobra.Command {
	var (
		cleanup                bool
		lastContact, stabilize time.Duration
		trailing               uint64
		minQuorum              uint
	)
	cmd := &cobra.Command{
		Use:   "set-config",
		Short: "Change the autopilot configuration (only the flags given)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			op := c.Operator()
			conf, err := op.AutopilotGetConfiguration(nil)
			if err != nil {
				return fmt.Errorf("read autopilot configuration: %w", err)
			}
			f := cmd.Flags()
			if f.Changed("cleanup-dead-servers") {
				conf.CleanupDeadServers = cleanup
			}
			if f.Changed("last-contact-threshold") {
				conf.LastContactThreshold = lastContact
			}
			if f.Changed("max-trailing-logs") {
				conf.MaxTrailingLogs = trailing
			}
			if f.Changed("min-quorum") {
				conf.MinQuorum = minQuorum
			}
			if f.Changed("server-stabilization-time") {
				conf.ServerStabilizationTime = stabilize
			}
			ok, err := op.AutopilotCASConfiguration(conf)
			if err != nil {
				return fmt.Errorf("set autopilot configuration: %w", err)
			}
			if !ok {
				return errors.New("the configuration changed meanwhile and was not updated; run the command again")
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Configuration updated!")
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&cleanup, "cleanup-dead-servers", true, "remove servers unreachable for a minute (never below bootstrap_expect or -min-quorum voters)")
	f.DurationVar(&lastContact, "last-contact-threshold", 200*time.Millisecond, "longest a healthy server may go without hearing from the leader")
	f.Uint64Var(&trailing, "max-trailing-logs", 250, "most log entries a healthy server may be behind the leader")
	f.UintVar(&minQuorum, "min-quorum", 0, "fewest voters dead-server clean-up leaves")
	f.DurationVar(&stabilize, "server-stabilization-time", 10*time.Second, "how long a new server is healthy before it becomes a voter")
	return cmd
}
