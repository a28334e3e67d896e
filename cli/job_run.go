package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

type jobRunFlags struct {
	detach         bool
	verbose        bool
	checkIndex     uint64
	output         bool
	preserveCounts bool
	policyOverride bool
	evalPriority   int
}

// jobRunCommand is `roam job run <file>`: parse locally, register with the
// source, then monitor the evaluation.
func (a *app) jobRunCommand() *cobra.Command {
	f := &jobRunFlags{}
	var files *jobFileFlags
	cmd := &cobra.Command{
		Use:   "run [flags] <file>",
		Short: "Register a job from a job file and watch it being placed",
		Long: "Parses the job file (- reads standard input), registers the job and monitors\n" +
			"the evaluation until its allocations are placed. Exit code 0: everything was\n" +
			"placed; 2: the job is registered but some allocations could not be placed;\n" +
			"1: error.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.jobRun(cmd, args[0], files, f)
		},
	}
	files = addJobFileFlags(cmd)
	files.addAPIJSONFlag(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&f.detach, "detach", false, "return after registering, printing the evaluation ID")
	fl.BoolVar(&f.verbose, "verbose", false, "print full IDs")
	fl.Uint64Var(&f.checkIndex, "check-index", 0, "register only if the job's modify index is this value (0: only if the job does not exist)")
	fl.BoolVar(&f.output, "output", false, "print the job as JSON instead of registering it")
	fl.BoolVar(&f.preserveCounts, "preserve-counts", false, "keep the current group counts of an existing job")
	fl.BoolVar(&f.policyOverride, "policy-override", false, "override soft policy failures")
	fl.IntVar(&f.evalPriority, "eval-priority", 0, "priority of the evaluation (1-100; default the job's)")
	return cmd
}

func (a *app) jobRun(cmd *cobra.Command, path string, files *jobFileFlags, f *jobRunFlags) error {
	pj, err := a.readJobFile(cmd.Context(), path, files)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if f.output {
		return printJSON(out, map[string]any{"Job": pj.job})
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	opts := &api.RegisterOptions{
		EnforceIndex: cmd.Flags().Changed("check-index"), ModifyIndex: f.checkIndex,
		PreserveCounts: f.preserveCounts, PolicyOverride: f.policyOverride,
		EvalPriority: f.evalPriority, Submission: pj.submission,
	}
	resp, _, err := c.Jobs().Register(pj.job, opts, nil)
	if err != nil {
		return fmt.Errorf("register job: %w", err)
	}
	if resp.Warnings != "" {
		fmt.Fprintf(out, "Job Warnings:\n%s\n\n", resp.Warnings)
	}
	if f.detach || resp.EvalID == "" {
		fmt.Fprintln(out, "Job registration successful")
	}
	return a.monitorOrDetach(cmd.Context(), c, out, resp.EvalID, f.detach, f.verbose)
}
