// Command roam is the single roam binary: CLI, agent and task executor.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/agent"
	"github.com/roam-sh/roam/cli"
	"github.com/roam-sh/roam/client/artifact"
	"github.com/roam-sh/roam/drivers/docker/collector"
	"github.com/roam-sh/roam/drivers/executor"
	"github.com/roam-sh/roam/internal/version"
	"github.com/roam-sh/roam/jobspec/sandbox"
	"github.com/roam-sh/roam/mesh/proxy/sidecar"
	"github.com/roam-sh/roam/template"
)

func main() {
	// The executor is started by task drivers with a fixed argument list;
	// dispatch it before building the CLI so that its stdout handshake and
	// signal handling are untouched.
	if len(os.Args) > 1 && os.Args[1] == executor.SubcommandName {
		os.Exit(executor.Main(os.Args[2:]))
	}
	// So is the docker driver's log collector.
	if len(os.Args) > 1 && os.Args[1] == collector.SubcommandName {
		os.Exit(collector.Main(os.Args[2:]))
	}
	// And the artifact fetcher, which the client starts as the task's user.
	if len(os.Args) > 1 && os.Args[1] == artifact.SubcommandName {
		os.Exit(artifact.Main(os.Args[2:]))
	}
	// So is the job-file parser child of jobspec/sandbox.
	if len(os.Args) > 2 && os.Args[1] == sandbox.SubcommandArgs[0] && os.Args[2] == sandbox.SubcommandArgs[1] {
		os.Exit(sandbox.Main())
	}
	// So is a task's template engine (package template renders there, under
	// limits, never in the agent).
	template.MaybeRunChild()
	// And the mesh's sidecar proxy, which the connect_proxy driver starts.
	if len(os.Args) > 2 && os.Args[1] == sidecar.SubcommandArgs[0] && os.Args[2] == sidecar.SubcommandArgs[1] {
		if err := sidecar.KeepSysmonAwake(); err != nil {
			os.Stderr.WriteString("roam connect proxy: " + err.Error() + "\n")
		}
		os.Exit(sidecar.Main(os.Args[3:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	opts := cli.Options{Version: version.Version}
	// Job files read by the CLI are evaluated in a child of this binary
	// under the sandbox's limits (see jobspec/sandbox).
	if self, err := sandbox.SelfBinary(); err == nil {
		opts.JobParser = sandbox.Runner{Binary: self}
	}
	root := cli.NewRootCommand(opts, agent.Command(), agent.TLSCommand(), executorCommand())
	// `node doctor` checks this host, not a cluster: it lives with the agent
	// (the cli package speaks only the HTTP API) and joins the node noun here.
	if node, _, err := root.Find([]string{"node"}); err == nil && node != root {
		node.AddCommand(agent.NodeDoctorCommand())
	}
	code := cli.Run(ctx, root, os.Args[1:])
	stop()
	os.Exit(code)
}

// executorCommand documents the hidden `roam executor` subcommand in the
// command tree; main dispatches it before cobra runs.
func executorCommand() *cobra.Command {
	return &cobra.Command{
		Use:                executor.SubcommandName + " <spec.json>",
		Short:              "Run a task executor (started by task drivers)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := executor.Main(args); code != 0 {
				return &cli.ExitError{Code: code}
			}
			return nil
		},
	}
}
