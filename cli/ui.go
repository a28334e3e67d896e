package cli

import (
	"fmt"
	"net/url"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
)

// uiCommand is `roam ui`: the web UI's address, opened in a browser where
// the session has a display.
func (a *app) uiCommand() *cobra.Command {
	var noOpen bool
	cmd := &cobra.Command{
		Use:   "ui [job-or-path]",
		Short: "Open the web UI",
		Long: `Print the address of the agent's web UI and open it in a browser when the
session has a display (DISPLAY or WAYLAND_DISPLAY set and xdg-open installed).
An argument opens a job's page (roam ui web) or a path under /ui/ (roam ui
/clients).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			u := uiURL(c.Address(), args)
			fmt.Fprintln(cmd.OutOrStdout(), u)
			if noOpen || !a.hasDisplay() {
				return nil
			}
			bin, err := exec.LookPath("xdg-open")
			if err != nil {
				return nil // the URL is printed; nothing to open it with
			}
			// Started, not waited for: the browser outlives the command.
			if err := exec.Command(bin, u).Start(); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "could not open a browser: %v\n", err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noOpen, "no-open", false, "only print the address")
	return cmd
}

// uiURL is the UI address of the agent at addr, for a job ID or a UI path.
func uiURL(addr string, args []string) string {
	base := strings.TrimSuffix(addr, "/") + "/ui/"
	if len(args) == 0 || args[0] == "" {
		return base
	}
	if strings.HasPrefix(args[0], "/") {
		return base + strings.TrimPrefix(args[0], "/")
	}
	return base + "jobs/" + url.PathEscape(args[0])
}

func (a *app) hasDisplay() bool {
	return a.opts.Getenv("DISPLAY") != "" || a.opts.Getenv("WAYLAND_DISPLAY") != ""
}
