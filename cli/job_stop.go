package cli

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

type jobStopFlags struct {
	purge, detach, yes, verbose bool
}

// jobStopCommand is `roam job stop <job>`: stop the job's allocations and,
// with -purge, forget the job.
func (a *app) jobStopCommand() *cobra.Command {
	f := &jobStopFlags{}
	cmd := &cobra.Command{
		Use:               "stop [flags] <job>",
		ValidArgsFunction: a.completeJobs(),
		Short:             "Stop a running job",
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.jobStop(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.purge, "purge", false, "remove the job from the servers instead of keeping it as stopped")
	fl.BoolVar(&f.detach, "detach", false, "return after stopping, printing the evaluation ID")
	fl.BoolVar(&f.yes, "yes", false, "do not ask for confirmation when the job was named by a prefix")
	fl.BoolVar(&f.verbose, "verbose", false, "print full IDs")
	return cmd
}

func (a *app) jobStop(cmd *cobra.Command, prefix string, f *jobStopFlags) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	id, err := resolveJob(c, out, prefix)
	if err != nil {
		return err
	}
	if id != prefix && !f.yes {
		q := fmt.Sprintf("Are you sure you want to stop job %q? [y/N] ", id)
		if !confirm(a.opts.Stdin, out, q) {
			fmt.Fprintln(out, "Cancelling job stop")
			return &ExitError{Code: 1}
		}
	}
	resp, _, err := c.Jobs().Deregister(id, f.purge, nil)
	if err != nil {
		return fmt.Errorf("stop job %q: %w", id, err)
	}
	if resp.EvalID == "" || f.detach {
		fmt.Fprintf(out, "Job %q stopped\n", id)
	}
	return a.monitorOrDetach(cmd.Context(), c, out, resp.EvalID, f.detach, f.verbose)
}

// confirm asks a yes/no question on w and reads the answer from r.
func confirm(r io.Reader, w io.Writer, question string) bool {
	fmt.Fprint(w, question)
	line, _ := bufio.NewReader(r).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}
