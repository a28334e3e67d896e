package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/roam-sh/roam/internal/stdlog"
	"github.com/roam-sh/roam/internal/version"
)

// flagEnv maps each agent flag to the environment variable that sets it when
// the flag is not given. Order is the help order.
var flagEnv = [][2]string{
	{"dev", "ROAM_DEV"}, {"config", "ROAM_CONFIG"}, {"data-dir", "ROAM_DATA_DIR"},
	{"bind", "ROAM_BIND_ADDR"}, {"region", "ROAM_REGION"}, {"dc", "ROAM_DATACENTER"},
	{"node", "ROAM_NODE_NAME"}, {"server", "ROAM_SERVER"}, {"client", "ROAM_CLIENT"},
	{"bootstrap-expect", "ROAM_BOOTSTRAP_EXPECT"}, {"servers", "ROAM_SERVERS"},
	{"retry-join", "ROAM_RETRY_JOIN"},
	{"network-interface", "ROAM_NETWORK_INTERFACE"}, {"node-class", "ROAM_NODE_CLASS"},
	{"log-level", "ROAM_LOG_LEVEL"}, {"log-json", "ROAM_LOG_JSON"},
	{"enable-debug", "ROAM_ENABLE_DEBUG"},
	{"http-allowed-origins", "ROAM_HTTP_ALLOWED_ORIGINS"}, {"http-allowed-hosts", "ROAM_HTTP_ALLOWED_HOSTS"},
	{"reset-state", "ROAM_RESET_STATE"},
}

type agentFlags struct {
	dev             bool
	configs         []string
	dataDir         string
	bind            string
	region          string
	dc              string
	node            string
	server          bool
	client          bool
	bootstrapExpect int
	servers         []string
	retryJoin       []string
	netIface        string
	nodeClass       string
	logLevel        string
	logJSON         bool
	enableDebug     bool
	allowedOrigins  []string
	allowedHosts    []string
	resetState      bool
}

// Command returns `roam agent`.
func Command() *cobra.Command { return newCommand(&agentFlags{}) }

// newCommand binds the flags to f (tests read them back).
func newCommand(f *agentFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a roam agent (server, client, or both)",
		Long: `Run a roam agent. With -dev it runs a server and a client in one process on
127.0.0.1 with raw_exec enabled and state in a temporary directory. Otherwise
it is configured by -config files (HCL), environment variables and flags, in
increasing order of precedence.`,
		Example: "  roam agent -dev\n  roam agent -config /etc/roam.d",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAgent(cmd, f)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&f.dev, "dev", false, "development mode: server and client on loopback, temporary state")
	fs.StringArrayVar(&f.configs, "config", nil, "config file or directory (repeatable)")
	fs.StringVar(&f.dataDir, "data-dir", "", "directory for persistent state")
	fs.StringVar(&f.bind, "bind", "", "address to bind the HTTP and RPC listeners to")
	fs.StringVar(&f.region, "region", "", "region of this agent")
	fs.StringVar(&f.dc, "dc", "", "datacenter of this agent")
	fs.StringVar(&f.node, "node", "", "name of this agent")
	fs.BoolVar(&f.server, "server", false, "enable the server role")
	fs.BoolVar(&f.client, "client", false, "enable the client role")
	fs.IntVar(&f.bootstrapExpect, "bootstrap-expect", 0, "number of servers to wait for before electing a leader")
	fs.StringSliceVar(&f.servers, "servers", nil, "servers a client connects to (host:port, comma-separated)")
	fs.StringSliceVar(&f.retryJoin, "retry-join", nil, "servers a server joins, retrying until they answer (host:port, comma-separated)")
	fs.StringVar(&f.netIface, "network-interface", "", "interface whose addresses tasks' ports are mapped on")
	fs.StringVar(&f.nodeClass, "node-class", "", "class of this client node")
	fs.StringVar(&f.logLevel, "log-level", "", "TRACE, DEBUG, INFO, WARN or ERROR")
	fs.BoolVar(&f.logJSON, "log-json", false, "write logs as JSON")
	fs.BoolVar(&f.enableDebug, "enable-debug", false, "serve Go's profiler at /debug/pprof/ on the HTTP port")
	fs.StringSliceVar(&f.allowedOrigins, "http-allowed-origins", nil, "web origins whose pages may call the HTTP API (comma-separated; \"*\" for all)")
	fs.StringSliceVar(&f.allowedHosts, "http-allowed-hosts", nil, "extra names the HTTP API answers to (comma-separated; \"*\" for any)")
	fs.BoolVar(&f.resetState, "reset-state", false, "move corrupt state files (raft.db, snapshots, client.db) aside and start without them")
	for _, fe := range flagEnv {
		fl := fs.Lookup(fe[0])
		fl.Usage += " [$" + fe[1] + "]"
	}
	return cmd
}

// applyEnv sets every flag not given on the command line from its environment
// variable, so that flags > env > config files > defaults.
func applyEnv(fs *pflag.FlagSet) error {
	for _, fe := range flagEnv {
		fl := fs.Lookup(fe[0])
		v, ok := os.LookupEnv(fe[1])
		if fl.Changed || !ok {
			continue
		}
		if err := fs.Set(fe[0], v); err != nil {
			return fmt.Errorf("%s=%q: %w", fe[1], v, err)
		}
	}
	return nil
}

// resolveConfig builds the Config: preset, then files, then flags/env.
func resolveConfig(fs *pflag.FlagSet, f *agentFlags) (*Config, error) {
	if err := applyEnv(fs); err != nil {
		return nil, err
	}
	cfg := DefaultConfig()
	if f.dev {
		cfg = DevConfig()
	}
	if err := loadConfigPaths(cfg, f.configs); err != nil {
		return nil, err
	}
	set := func(name string, apply func()) {
		if fs.Lookup(name).Changed {
			apply()
		}
	}
	set("data-dir", func() { cfg.DataDir = f.dataDir })
	set("bind", func() { cfg.BindAddr = f.bind })
	set("region", func() { cfg.Region = f.region })
	set("dc", func() { cfg.Datacenter = f.dc })
	set("node", func() { cfg.NodeName = f.node })
	set("server", func() { cfg.Server.Enabled = f.server })
	set("client", func() { cfg.Client.Enabled = f.client })
	set("bootstrap-expect", func() { cfg.Server.BootstrapExpect = f.bootstrapExpect })
	set("servers", func() { cfg.Client.Servers = f.servers })
	set("retry-join", func() { cfg.Server.RetryJoin = append(cfg.Server.RetryJoin, f.retryJoin...) })
	set("network-interface", func() { cfg.Client.NetworkInterface = f.netIface })
	set("node-class", func() { cfg.Client.NodeClass = f.nodeClass })
	set("log-level", func() { cfg.LogLevel = f.logLevel })
	set("log-json", func() { cfg.LogJSON = f.logJSON })
	set("enable-debug", func() { cfg.EnableDebug = f.enableDebug })
	set("http-allowed-origins", func() { cfg.HTTPAPI.AllowedOrigins = f.allowedOrigins })
	set("http-allowed-hosts", func() { cfg.HTTPAPI.AllowedHosts = f.allowedHosts })
	set("reset-state", func() { cfg.ResetState = f.resetState })
	return cfg, nil
}

func runAgent(cmd *cobra.Command, f *agentFlags) error {
	// Signals are caught from the start: one sent while the agent starts
	// (Ctrl-C during a slow start) shuts down what has started, rather
	// than killing the process with its tasks and rules half made.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	cfg, err := resolveConfig(cmd.Flags(), f)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	logger, err := newLogger(out, cfg)
	if err != nil {
		return err
	}
	cmd.SilenceUsage = true
	// Libraries that print through the global standard logger
	// (consul-template, in every task's templates) go through ours.
	stdlog.Redirect(logger)
	start := time.Now()
	a, err := New(cfg, logger)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	ready := make(chan error, 1)
	go func() { ready <- a.WaitReady(ctx) }()
	select {
	case err = <-ready:
		cancel()
	case sig := <-sigs:
		cancel()
		logger.Info("caught signal while starting, shutting down", "signal", sig.String())
		return shutdownUnlessSignalled(a, sigs, logger)
	}
	if err != nil {
		a.Shutdown()
		return err
	}
	printBanner(out, a, time.Since(start))
	return waitForSignal(a, sigs, logger)
}

func newLogger(w io.Writer, cfg *Config) (*slog.Logger, error) {
	lvl, err := parseLogLevel(cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(lvl)); err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

func printBanner(w io.Writer, a *Agent, took time.Duration) {
	c := a.cfg
	roles := []string{}
	if c.Server.Enabled {
		roles = append(roles, "server")
	}
	if c.Client.Enabled {
		roles = append(roles, "client")
	}
	fmt.Fprintf(w, "==> roam agent configuration:\n\n")
	rows := [][2]string{
		{"Version", version.Version},
		{"Roles", strings.Join(roles, ", ")},
		{"Region", c.Region + " (datacenter " + c.Datacenter + ")"},
		{"Node name", c.NodeName},
		{"HTTP API", a.httpScheme() + "://" + a.HTTPAddr()},
		{"Web UI", a.httpScheme() + "://" + a.HTTPAddr() + "/ui/"},
		{"RPC", hostPort(c.BindAddr, c.Ports.RPC)},
		{"Data dir", c.DataDir},
		{"Dev mode", strconv.FormatBool(c.DevMode)},
	}
	if d := a.DNSAddr(); d != "" {
		rows = append(rows, [2]string{"DNS", d + " (udp, tcp)"})
	}
	if cl := a.client; cl != nil {
		rows = append(rows, [2]string{"Node ID", cl.NodeID()})
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %14s: %s\n", r[0], r[1])
	}
	fmt.Fprintf(w, "\n==> roam agent ready in %s; logs follow.\n", took.Round(time.Millisecond))
}

func hostPort(host string, port int) string { return host + ":" + strconv.Itoa(port) }

// waitForSignal runs until SIGINT/SIGTERM (graceful shutdown; a second signal
// exits at once) or until a component fails.
func waitForSignal(a *Agent, sigs <-chan os.Signal, logger *slog.Logger) error {
	select {
	case sig := <-sigs:
		logger.Info("caught signal, shutting down", "signal", sig.String())
	case err := <-a.Err():
		logger.Error("agent component failed, shutting down", "error", err)
		a.Shutdown()
		return err
	}
	return shutdownUnlessSignalled(a, sigs, logger)
}

// shutdownUnlessSignalled shuts the agent down; a further signal meanwhile
// exits at once.
func shutdownUnlessSignalled(a *Agent, sigs <-chan os.Signal, logger *slog.Logger) error {
	done := make(chan error, 1)
	go func() { done <- a.Shutdown() }()
	select {
	case err := <-done:
		if err != nil {
			logger.Warn("shutdown finished with errors", "error", err)
		}
		return nil
	case sig := <-sigs:
		return fmt.Errorf("second %s: exiting without finishing shutdown", sig)
	}
}
