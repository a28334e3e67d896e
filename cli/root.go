package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/roam-sh/roam/api"
)

// Options are the process-level inputs of the CLI, injected so that tests
// run commands in-process with captured output and a fake environment.
type Options struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
	// Environ lists the environment as NAME=value, for NOMAD_VAR_* job
	// variables (os.Environ when nil).
	Environ func() []string
	// Version is printed by `roam version`.
	Version string
	// Now is the clock used for relative times (time.Now when nil).
	Now func() time.Time
	// PollInterval bounds each blocking query of the monitors; tests shorten
	// it. Zero means 5s.
	PollInterval time.Duration
	// JobParser evaluates job files read by job run, plan and validate.
	// Nil parses in-process without limits; cmd/roam sets a sandbox.
	JobParser JobParser
}

func (o *Options) defaults() {
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Environ == nil {
		o.Environ = os.Environ
	}
	if o.Version == "" {
		o.Version = "0.1.0-dev"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.JobParser == nil {
		o.JobParser = inProcessParser{}
	}
}

// app is the state shared by all commands of one invocation: the options
// and the global flags.
type app struct {
	opts      Options
	address   string
	region    string
	namespace string
	token     string
	tls       api.TLSConfig
}

// NewRootCommand builds the `roam` command tree. extra commands (the agent,
// the hidden executor) are added at the top level.
func NewRootCommand(opts Options, extra ...*cobra.Command) *cobra.Command {
	opts.defaults()
	a := &app{opts: opts}
	root := &cobra.Command{
		Use:   "roam",
		Short: "roam runs Nomad job files on a cluster of machines",
		Long: "roam is a workload orchestrator. It runs Nomad job files unchanged and\n" +
			"speaks Nomad's HTTP API. Flags may be written with one dash (-json) or two.",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(opts.Stdin)
	root.SetOut(opts.Stdout)
	root.SetErr(opts.Stderr)
	a.globalFlags(root.PersistentFlags())
	root.AddCommand(
		a.jobCommand(), a.allocCommand(), a.nodeCommand(), a.evalCommand(),
		a.serverCommand(), a.operatorCommand(), a.statusCommand(), a.versionCommand(), a.uiCommand(),
		a.namespaceCommand(), a.varCommand(), a.serviceCommand(),
		a.eventCommand(), a.connectCommand(), a.intentionCommand(), a.deploymentCommand(),
	)
	root.AddCommand(extra...)
	return root
}

func (a *app) globalFlags(fs *pflag.FlagSet) {
	fs.StringVar(&a.address, "address", "", "agent HTTP address (env ROAM_ADDR, NOMAD_ADDR; default "+api.DefaultAddress+")")
	fs.StringVar(&a.region, "region", "", "region to send requests to (env ROAM_REGION, NOMAD_REGION)")
	fs.StringVar(&a.namespace, "namespace", "", "namespace of the objects, * for all on lists (env ROAM_NAMESPACE, NOMAD_NAMESPACE)")
	fs.StringVar(&a.token, "token", "", "ACL token (env ROAM_TOKEN, NOMAD_TOKEN)")
	fs.StringVar(&a.tls.CACert, "ca-cert", "", "PEM file of the CA that signed the agent's HTTPS certificate (env ROAM_CACERT, NOMAD_CACERT)")
	fs.StringVar(&a.tls.ClientCert, "client-cert", "", "PEM client certificate for an agent with verify_https_client (env ROAM_CLIENT_CERT, NOMAD_CLIENT_CERT)")
	fs.StringVar(&a.tls.ClientKey, "client-key", "", "PEM key of -client-cert (env ROAM_CLIENT_KEY, NOMAD_CLIENT_KEY)")
	fs.StringVar(&a.tls.ServerName, "tls-server-name", "", "name to check the agent's certificate against (env ROAM_TLS_SERVER_NAME, NOMAD_TLS_SERVER_NAME)")
	fs.BoolVar(&a.tls.Insecure, "tls-skip-verify", false, "do not check the agent's certificate (env ROAM_SKIP_VERIFY, NOMAD_SKIP_VERIFY)")
}

// client returns an API client from the flags, falling back on the
// environment: flag, then ROAM_*, then NOMAD_*.
func (a *app) client() (*api.Client, error) {
	getenv := a.opts.Getenv
	cfg := api.Config{
		Address:   a.address,
		Region:    firstNonEmpty(a.region, api.FromEnv(getenv, api.EnvRegion, api.EnvNomadRegion)),
		Namespace: firstNonEmpty(a.namespace, api.FromEnv(getenv, api.EnvNamespace, api.EnvNomadNamespace)),
		Token:     firstNonEmpty(a.token, api.FromEnv(getenv, api.EnvToken, api.EnvNomadToken)),
	}
	if cfg.Address == "" {
		cfg.Address = api.AddressFromEnv(getenv)
	}
	env := api.TLSFromEnv(getenv)
	cfg.TLS = &api.TLSConfig{
		CACert:     firstNonEmpty(a.tls.CACert, env.CACert),
		ClientCert: firstNonEmpty(a.tls.ClientCert, env.ClientCert),
		ClientKey:  firstNonEmpty(a.tls.ClientKey, env.ClientKey),
		ServerName: firstNonEmpty(a.tls.ServerName, env.ServerName),
		Insecure:   a.tls.Insecure || env.Insecure,
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("create API client: %w", err)
	}
	return c, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// ExitError ends a command with a specific exit code. Msg, when set, is
// printed to stderr; commands that already printed their explanation leave
// it empty.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Msg
}

// Run executes root with args (without the program name) and returns the
// process exit code: 0 on success, the code of an *ExitError, else 1.
func Run(ctx context.Context, root *cobra.Command, args []string) int {
	strictTree(root)
	root.SetArgs(normalizeFlags(root, args))
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Msg != "" {
			fmt.Fprintln(root.ErrOrStderr(), "Error: "+ee.Msg)
		}
		return ee.Code
	}
	fmt.Fprintln(root.ErrOrStderr(), "Error: "+err.Error())
	if strings.Contains(err.Error(), "flag") || strings.Contains(err.Error(), "unknown command") ||
		strings.Contains(err.Error(), "arg(s)") {
		fmt.Fprintln(root.ErrOrStderr(), "Run with --help for usage.")
	}
	return 1
}

// normalizeFlags rewrites Nomad-style single-dash long flags (-detach,
// -json, -address=x) to the double-dash form cobra (pflag) parses. Nomad's
// CLI uses Go's flag package, where one dash is the norm, and users' scripts
// and muscle memory carry that over; pflag would read "-json" as the
// shorthands -j -s -o -n. Only names that are long flags somewhere in the
// command tree are rewritten, and nothing after a "--" terminator.
func normalizeFlags(root *cobra.Command, args []string) []string {
	// cobra adds --help to each command only when it runs; count it in.
	long := map[string]bool{"help": true}
	collectFlags(root, long)
	out := make([]string, 0, len(args))
	for i, arg := range args {
		if arg == "--" {
			return append(out, args[i:]...)
		}
		if len(arg) > 2 && arg[0] == '-' && arg[1] != '-' {
			name, _, _ := strings.Cut(arg[1:], "=")
			if len(name) > 1 && long[name] {
				arg = "-" + arg
			}
		}
		out = append(out, arg)
	}
	return out
}

func collectFlags(cmd *cobra.Command, into map[string]bool) {
	add := func(f *pflag.Flag) { into[f.Name] = true }
	cmd.Flags().VisitAll(add)
	cmd.PersistentFlags().VisitAll(add)
	for _, c := range cmd.Commands() {
		collectFlags(c, into)
	}
}
