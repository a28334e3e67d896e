package cli

import "github.com/spf13/cobra"

// statusCommand is `roam status`: the job list, the cluster overview a
// first command should give.
func (a *app) statusCommand() *cobra.Command {
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "List jobs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.jobList(cmd, out)
		},
	}
	out = addOutputFlags(cmd)
	return cmd
}
