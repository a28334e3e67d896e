package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// jobValidateCommand is `roam job validate <file>`: parse locally, then ask
// the servers to validate (they know the defaults and the drivers).
func (a *app) jobValidateCommand() *cobra.Command {
	var files *jobFileFlags
	cmd := &cobra.Command{
		Use:   "validate [flags] <file>",
		Short: "Check a job file for errors without running it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.jobValidate(cmd, args[0], files)
		},
	}
	files = addJobFileFlags(cmd)
	files.addAPIJSONFlag(cmd)
	return cmd
}

func (a *app) jobValidate(cmd *cobra.Command, path string, files *jobFileFlags) error {
	pj, err := a.readJobFile(cmd.Context(), path, files)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	resp, _, err := c.Jobs().Validate(pj.job, nil)
	if err != nil {
		return fmt.Errorf("validate job: %w", err)
	}
	out := cmd.OutOrStdout()
	if resp.Warnings != "" {
		fmt.Fprintf(out, "Job Warnings:\n%s\n\n", resp.Warnings)
	}
	problems := resp.ValidationErrors
	if len(problems) == 0 && resp.Error != "" {
		problems = []string{resp.Error}
	}
	if len(problems) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "Job validation errors:\n  * %s\n", strings.Join(problems, "\n  * "))
		return &ExitError{Code: 1}
	}
	fmt.Fprintln(out, "Job validation successful")
	return nil
}
