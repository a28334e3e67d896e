package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// deploymentCommand is `roam deployment`, the parent of the deployment
// subcommands (docs/deployments.md).
func (a *app) deploymentCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deployment",
		Short: "List, follow, promote, pause and fail deployments",
	}
	cmd.AddCommand(
		a.deploymentListCommand(), a.deploymentStatusCommand(), a.deploymentPromoteCommand(),
		a.deploymentFailCommand(), a.deploymentPauseCommand(true), a.deploymentPauseCommand(false),
	)
	return cmd
}

// resolveDeployment returns the full ID of the deployment matching prefix.
func resolveDeployment(c *api.Client, w io.Writer, prefix string) (string, error) {
	ds, _, err := c.Deployments().List(&api.QueryOptions{Prefix: prefix})
	if err != nil {
		return "", fmt.Errorf("list deployments: %w", err)
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return pick(w, "deployment", prefix, ids, func() string { return deploymentTable(ds, false) })
}

func deploymentTable(ds []*api.Deployment, verbose bool) string {
	rows := [][]string{{"ID", "Job ID", "Job Version", "Status", "Description"}}
	for _, d := range ds {
		rows = append(rows, []string{shortID(d.ID, verbose), d.JobID, fmt.Sprint(d.JobVersion), string(d.Status), d.StatusDescription})
	}
	return table(rows)
}

// deploymentListCommand is `roam deployment list`.
func (a *app) deploymentListCommand() *cobra.Command {
	var verbose bool
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List deployments, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ds, _, err := c.Deployments().List(nil)
			if err != nil {
				return fmt.Errorf("list deployments: %w", err)
			}
			w := cmd.OutOrStdout()
			if out.wanted() {
				return out.print(w, ds)
			}
			if len(ds) == 0 {
				fmt.Fprintln(w, "No deployments found")
				return nil
			}
			fmt.Fprint(w, deploymentTable(ds, verbose))
			return nil
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print full IDs")
	out = addOutputFlags(cmd)
	return cmd
}

// deploymentStatusCommand is `roam deployment status <deployment>`.
func (a *app) deploymentStatusCommand() *cobra.Command {
	var verbose, follow bool
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "status [flags] <deployment>",
		Short: "Show a deployment's progress per task group (-monitor follows it to the end)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			id, err := resolveDeployment(c, w, args[0])
			if err != nil {
				return err
			}
			if follow {
				code, err := a.newMonitor(c, w, verbose).followDeployment(cmd.Context(), id)
				if err != nil {
					return err
				}
				if code != exitOK {
					return &ExitError{Code: code}
				}
				return nil
			}
			d, _, err := c.Deployments().Info(id, nil)
			if err != nil {
				return fmt.Errorf("read deployment %q: %w", shortID(id, false), err)
			}
			if out.wanted() {
				return out.print(w, d)
			}
			fmt.Fprint(w, formatDeployment(d, verbose))
			return nil
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print full IDs")
	cmd.Flags().BoolVar(&follow, "monitor", false, "follow the deployment until it ends (exit 1 when it fails)")
	out = addOutputFlags(cmd)
	return cmd
}

// deploymentWriteFlags are the flags of the writes that create an
// evaluation (promote, fail, resume): they monitor it unless -detach.
type deploymentWriteFlags struct {
	detach, verbose bool
}

func (f *deploymentWriteFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.detach, "detach", false, "return at once, printing the evaluation ID")
	cmd.Flags().BoolVar(&f.verbose, "verbose", false, "print full IDs")
}

// deploymentWrite resolves the deployment, runs the write and monitors the
// evaluation it created.
func (a *app) deploymentWrite(cmd *cobra.Command, prefix string, f *deploymentWriteFlags, what string,
	write func(c *api.Client, id string) (*api.DeploymentUpdateResponse, error)) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	id, err := resolveDeployment(c, w, prefix)
	if err != nil {
		return err
	}
	return a.deploymentWriteID(cmd, c, id, f, what, write)
}

func (a *app) deploymentWriteID(cmd *cobra.Command, c *api.Client, id string, f *deploymentWriteFlags, what string,
	write func(c *api.Client, id string) (*api.DeploymentUpdateResponse, error)) error {
	w := cmd.OutOrStdout()
	resp, err := write(c, id)
	if err != nil {
		return fmt.Errorf("%s deployment %q: %w", what, shortID(id, f.verbose), err)
	}
	fmt.Fprintf(w, "Deployment %q %s\n", shortID(id, f.verbose), pastTense(what))
	if resp.RevertedJobVersion != nil {
		fmt.Fprintf(w, "Job reverted to version %d\n", *resp.RevertedJobVersion)
	}
	return a.monitorOrDetach(cmd.Context(), c, w, resp.EvalID, f.detach, f.verbose)
}

func pastTense(verb string) string {
	switch verb {
	case "fail":
		return "failed"
	case "pause":
		return "paused"
	}
	return verb + "d"
}

// deploymentPromoteCommand is `roam deployment promote <deployment>`.
func (a *app) deploymentPromoteCommand() *cobra.Command {
	f := &deploymentWriteFlags{}
	var groups []string
	cmd := &cobra.Command{
		Use:   "promote [flags] <deployment>",
		Short: "Promote a deployment's canaries (all groups, or those named with -group)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.deploymentWrite(cmd, args[0], f, "promote", promoteWrite(groups))
		},
	}
	f.add(cmd)
	cmd.Flags().StringSliceVar(&groups, "group", nil, "promote only this task group (repeatable)")
	return cmd
}

func promoteWrite(groups []string) func(c *api.Client, id string) (*api.DeploymentUpdateResponse, error) {
	return func(c *api.Client, id string) (*api.DeploymentUpdateResponse, error) {
		if len(groups) > 0 {
			r, _, err := c.Deployments().PromoteGroups(id, groups, nil)
			return r, err
		}
		r, _, err := c.Deployments().PromoteAll(id, nil)
		return r, err
	}
}

// deploymentFailCommand is `roam deployment fail <deployment>`.
func (a *app) deploymentFailCommand() *cobra.Command {
	f := &deploymentWriteFlags{}
	cmd := &cobra.Command{
		Use:   "fail [flags] <deployment>",
		Short: "Fail a deployment (with auto_revert, the job goes back to its latest stable version)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.deploymentWrite(cmd, args[0], f, "fail", func(c *api.Client, id string) (*api.DeploymentUpdateResponse, error) {
				r, _, err := c.Deployments().Fail(id, nil)
				return r, err
			})
		},
	}
	f.add(cmd)
	return cmd
}

// deploymentPauseCommand is `roam deployment pause` (pause) or `resume`.
func (a *app) deploymentPauseCommand(pause bool) *cobra.Command {
	f := &deploymentWriteFlags{}
	use, verb, short := "resume", "resume", "Resume a paused deployment"
	if pause {
		use, verb, short = "pause", "pause", "Pause a deployment: nothing more is replaced until it is resumed"
	}
	cmd := &cobra.Command{
		Use:   use + " [flags] <deployment>",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.deploymentWrite(cmd, args[0], f, verb, func(c *api.Client, id string) (*api.DeploymentUpdateResponse, error) {
				r, _, err := c.Deployments().Pause(id, pause, nil)
				return r, err
			})
		},
	}
	f.add(cmd)
	return cmd
}

// jobPromoteCommand is `roam job promote <job>`: promote the canaries of
// the job's latest deployment.
func (a *app) jobPromoteCommand() *cobra.Command {
	f := &deploymentWriteFlags{}
	var groups []string
	cmd := &cobra.Command{
		Use:               "promote [flags] <job>",
		ValidArgsFunction: a.completeJobs(),
		Short:             "Promote the canaries of a job's latest deployment",
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			id, err := resolveJob(c, cmd.OutOrStdout(), args[0])
			if err != nil {
				return err
			}
			d, _, err := c.Jobs().LatestDeployment(id, nil)
			if err != nil {
				return fmt.Errorf("read latest deployment of job %q: %w", id, err)
			}
			if d == nil {
				return &ExitError{Code: 1, Msg: fmt.Sprintf("job %q has no deployment", id)}
			}
			return a.deploymentWriteID(cmd, c, d.ID, f, "promote", promoteWrite(groups))
		},
	}
	f.add(cmd)
	cmd.Flags().StringSliceVar(&groups, "group", nil, "promote only this task group (repeatable)")
	return cmd
}
