package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// jobInspectCommand is `roam job inspect <job>`: the job as JSON, in the
// {"Job": ...} envelope that PUT /v1/jobs accepts back.
func (a *app) jobInspectCommand() *cobra.Command {
	var version int64
	var out *outputFlags
	cmd := &cobra.Command{
		Use:               "inspect [flags] <job>",
		ValidArgsFunction: a.completeJobs(),
		Short:             "Print a job (or one of its versions) as JSON",
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.jobInspect(cmd, args[0], version, out)
		},
	}
	cmd.Flags().Int64Var(&version, "version", -1, "print this version instead of the current one")
	out = addOutputFlags(cmd)
	return cmd
}

func (a *app) jobInspect(cmd *cobra.Command, prefix string, version int64, out *outputFlags) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	id, err := resolveJob(c, cmd.OutOrStdout(), prefix)
	if err != nil {
		return err
	}
	job, err := jobVersion(c, id, version)
	if err != nil {
		return err
	}
	if out.tmpl != "" {
		return out.print(cmd.OutOrStdout(), job)
	}
	return printJSON(cmd.OutOrStdout(), map[string]*api.Job{"Job": job})
}

// jobVersion returns the current job (version < 0) or the given version.
func jobVersion(c *api.Client, id string, version int64) (*api.Job, error) {
	if version < 0 {
		job, _, err := c.Jobs().Info(id, nil)
		if err != nil {
			return nil, fmt.Errorf("read job %q: %w", id, err)
		}
		return job, nil
	}
	resp, _, err := c.Jobs().Versions(id, false, nil)
	if err != nil {
		return nil, fmt.Errorf("read versions of job %q: %w", id, err)
	}
	for _, j := range resp.Versions {
		if int64(j.Version) == version {
			return j, nil
		}
	}
	return nil, &ExitError{Code: 1, Msg: fmt.Sprintf("job %q has no version %d", id, version)}
}
