package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// jobHistoryCommand is `roam job history <job>`: the job's versions,
// newest first, with -p the changes each made.
func (a *app) jobHistoryCommand() *cobra.Command {
	var diffs, full bool
	var version int64
	var out *outputFlags
	cmd := &cobra.Command{
		Use:               "history [flags] <job>",
		ValidArgsFunction: a.completeJobs(),
		Short:             "List a job's versions",
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.jobHistory(cmd, args[0], diffs, full, version, out)
		},
	}
	cmd.Flags().BoolVarP(&diffs, "diffs", "p", false, "show what changed between versions")
	cmd.Flags().BoolVar(&full, "full", false, "print each version's full job as JSON")
	cmd.Flags().Int64Var(&version, "version", -1, "show only this version")
	out = addOutputFlags(cmd)
	return cmd
}

func (a *app) jobHistory(cmd *cobra.Command, prefix string, diffs, full bool, version int64, out *outputFlags) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	id, err := resolveJob(c, w, prefix)
	if err != nil {
		return err
	}
	resp, _, err := c.Jobs().Versions(id, diffs, nil)
	if err != nil {
		return fmt.Errorf("read versions of job %q: %w", id, err)
	}
	if out.wanted() {
		return out.print(w, resp.Versions)
	}
	for i, job := range resp.Versions {
		if version >= 0 && int64(job.Version) != version {
			continue
		}
		var d *api.JobDiff
		if diffs && i < len(resp.Diffs) {
			d = resp.Diffs[i]
		}
		if err := writeVersion(w, job, d, full, i == len(resp.Versions)-1); err != nil {
			return err
		}
	}
	return nil
}

// writeVersion prints one version; the oldest has nothing to diff against.
func writeVersion(w io.Writer, job *api.Job, d *api.JobDiff, full, oldest bool) error {
	pairs := [][2]string{
		{"Version", fmt.Sprint(job.Version)},
		{"Stable", fmt.Sprint(job.Stable)},
		{"Submit Date", formatUnixNano(job.SubmitTime)},
	}
	if d != nil && !oldest {
		pairs = append(pairs, [2]string{"Diff", ""})
	}
	fmt.Fprint(w, kv(pairs))
	if d != nil && !oldest {
		fmt.Fprint(w, formatJobDiff(d, false))
	}
	if full {
		if err := printJSON(w, job); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	return nil
}
