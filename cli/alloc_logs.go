package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// allocLogsCommand is `roam alloc logs <alloc> [task]`: print (and follow)
// a task's stdout or stderr, across its rotated files.
func (a *app) allocLogsCommand() *cobra.Command {
	var t tailOptions
	var stderr, stdout, byJob bool
	var task string
	cmd := &cobra.Command{
		Use:               "logs [flags] <alloc> [task]",
		ValidArgsFunction: a.completeAllocs(),
		Short:             "Print a task's stdout or stderr",
		Long: "Print the logs of a task of an allocation: stdout, or stderr with -stderr. The\n" +
			"task may be omitted when the allocation has only one. -f follows the log as it\n" +
			"grows, across rotated files; -tail, -n and -c start from the end.",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if stderr && stdout {
				return fmt.Errorf("-stderr and -stdout are mutually exclusive")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			al, err := allocArg(c, cmd.OutOrStdout(), args[0], byJob)
			if err != nil {
				return err
			}
			name, err := taskArg(task, args, 1)
			if err != nil {
				return err
			}
			if name, err = pickTask(al, name); err != nil {
				return err
			}
			typ := api.LogStdout
			if stderr {
				typ = api.LogStderr
			}
			ctx := cmd.Context()
			open := func(o api.StreamOptions) (*api.FrameStream, error) {
				s, err := c.AllocFS().Logs(al.ID, name, typ, o, &api.QueryOptions{Ctx: ctx})
				if err != nil {
					return nil, fmt.Errorf("read %s of task %q: %w", typ, name, err)
				}
				return s, nil
			}
			return t.run(ctx, open, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&t.follow, "follow", "f", false, "keep printing the log as it grows")
	f.BoolVar(&stderr, "stderr", false, "print stderr instead of stdout")
	f.BoolVar(&stdout, "stdout", false, "print stdout (the default)")
	f.BoolVar(&t.tail, "tail", false, "start from the end of the log (the last 10 lines unless -n or -c)")
	f.IntVarP(&t.lines, "lines", "n", 0, "print the last `N` lines (implies -tail)")
	f.Int64VarP(&t.bytes, "bytes", "c", 0, "print the last `N` bytes (implies -tail)")
	f.StringVar(&task, "task", "", "the task whose logs to print")
	f.BoolVar(&byJob, "job", false, "the argument is a job ID: use its newest running allocation")
	return cmd
}
