package cli

import "github.com/spf13/cobra"

// jobCommand is `roam job`, the parent of the job subcommands.
func (a *app) jobCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "job",
		Short: "Run, inspect and stop jobs",
	}
	cmd.AddCommand(
		a.jobRunCommand(), a.jobPlanCommand(), a.jobValidateCommand(), a.jobStatusCommand(),
		a.jobStopCommand(), a.jobInspectCommand(), a.jobHistoryCommand(), a.jobRevertCommand(),
		a.jobPromoteCommand(),
	)
	// Periodic and parameterized jobs.
	cmd.AddCommand(a.jobPeriodicCommand(), a.jobDispatchCommand())
	return cmd
}
