package sidecar

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/roam-sh/roam/mesh/agentapi"
	"github.com/roam-sh/roam/mesh/proxy"
	"github.com/roam-sh/roam/netns"
)

// The proxy recycles connections when the agent hands it new certificates.
var _ proxy.CertsWatcher = (*agentapi.Certs)(nil)

// SubcommandArgs are the arguments after the binary that start the proxy
// (`roam connect proxy -config …`); main dispatches them before the CLI.
var SubcommandArgs = [2]string{"connect", "proxy"}

// Main runs one sidecar proxy until SIGINT or SIGTERM, then drains, and
// returns the process's exit code.
//
//	-config  the File the client wrote
//	-netns   the allocation's network namespace ("" : the current one)
//	-ready   a file created once every listener is open (the driver waits
//	         for it, so the application never starts before its upstreams)
//	-drain   how long open connections may finish after the signal
func Main(args []string) int {
	fs := flag.NewFlagSet("connect proxy", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "proxy configuration file")
	nsPath := fs.String("netns", "", "network namespace path of the allocation")
	ready := fs.String("ready", "", "file to create once listening")
	drain := fs.Duration("drain", 5*time.Second, "time open connections get to finish on stop")
	stats := fs.String("stats", "", "file the proxy's counters are written to every few seconds")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "connect-proxy")
	tuneRuntime()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *cfgPath, *nsPath, *ready, *stats, *drain, logger); err != nil {
		logger.Error("proxy failed", "error", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, cfgPath, nsPath, readyPath, statsPath string, drain time.Duration, logger *slog.Logger) error {
	f, err := ReadFile(cfgPath)
	if err != nil {
		return err
	}
	logger = logger.With("service", f.Service)
	f.defaultUpstreamNamespace()
	a := agentapi.New(f.AgentAddr, f.Token, &http.Client{})
	c := agentapi.NewCerts(a, f.Service, nil, logger)
	go c.Run(ctx)
	select {
	case <-c.Ready():
	case <-ctx.Done():
		return nil
	}
	z := newAuthz(a, f.Namespace, logger)
	go z.watch(ctx)
	cfg := proxy.Config{
		Service: f.Service, PublicAddr: net.JoinHostPort("0.0.0.0", fmt.Sprint(f.PublicPort)), LocalAddr: f.LocalAddr, Protocol: f.Protocol,
		Upstreams: f.Upstreams, Expose: f.Expose,
		Certs: c, Authorizer: z, Resolver: &resolver{a: a, cache: map[string]*resolved{}},
		Logger: logger,
	}
	if nsPath != "" {
		// Listeners and the application live in the allocation's
		// namespace; remote proxies are dialled from here, the host's.
		cfg.Listen = func(ctx context.Context, network, addr string) (net.Listener, error) {
			return netns.Listen(ctx, nsPath, network, addr)
		}
		cfg.DialLocal = netns.Dialer(nsPath, &net.Dialer{})
	}
	p, err := proxy.New(cfg)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, drain) }()
	select {
	case <-p.Ready():
		logger.Info("proxy listening", "public_port", f.PublicPort, "upstreams", len(f.Upstreams))
		if err := trimStartup(); err != nil {
			logger.Debug("trim start-up memory", "error", err)
		}
		if readyPath != "" {
			if err := os.WriteFile(readyPath, nil, 0o600); err != nil {
				return fmt.Errorf("write ready file: %w", err)
			}
		}
	case err := <-done:
		return err
	}
	if statsPath != "" {
		go writeStats(ctx, p, statsPath, logger)
	}
	return <-done
}

// statsEvery is how often the counters are written for the agent's
// /v1/metrics, which reads the file when scraped.
const statsEvery = 2 * time.Second

// writeStats writes the proxy's counters to path until ctx ends.
func writeStats(ctx context.Context, p *proxy.Proxy, path string, logger *slog.Logger) {
	t := time.NewTicker(statsEvery)
	defer t.Stop()
	for {
		if err := WriteStats(path, p.Stats()); err != nil {
			logger.Warn("write proxy stats", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
