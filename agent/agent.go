package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/roam-sh/roam/client"
	"github.com/roam-sh/roam/client/clientapi"
	"github.com/roam-sh/roam/dns"
	"github.com/roam-sh/roam/httpapi"
	"github.com/roam-sh/roam/internal/clustertls"
	"github.com/roam-sh/roam/internal/connlimit"
	"github.com/roam-sh/roam/internal/msgrpc"
	"github.com/roam-sh/roam/internal/telemetry"
	"github.com/roam-sh/roam/internal/version"
	"github.com/roam-sh/roam/jobspec/sandbox"
	"github.com/roam-sh/roam/netns/doctor"
	"github.com/roam-sh/roam/server"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/template"
	"github.com/roam-sh/roam/ui"
)

// Agent is a running roam agent.
type Agent struct {
	cfg    *Config
	logger *slog.Logger
	// logs streams the log to /v1/agent/monitor watchers.
	logs *logHub
	// metrics keeps the counters and timings /v1/metrics lists.
	metrics *telemetry.Registry

	server *server.Server
	client *client.Client
	pool   *msgrpc.Pool
	// tls holds the tls block's CA and key pair (nil when tls.rpc and
	// tls.http are off).
	tls *clustertls.Bundle
	rpc rpcer

	httpLn  net.Listener
	httpSrv *http.Server
	// httpCancel ends the context of every request in flight (Shutdown).
	httpCancel context.CancelFunc

	dns       *dns.Server
	dnsCancel context.CancelFunc

	clientCancel context.CancelFunc
	clientDone   chan struct{}

	// errCh reports a component that stopped on its own (the HTTP server).
	errCh chan error
	// stopCh is closed by Shutdown, ending the goroutines that forward
	// components' failures to errCh.
	stopCh chan struct{}

	// tempDataDir: -dev made the data dir and removes it at shutdown, so
	// nothing can re-attach to this agent's tasks after it.
	tempDataDir bool

	shutdownOnce sync.Once
	shutdownErr  error
}

type rpcer interface {
	RPC(method string, args, reply any) error
}

// New starts an agent: server first (so an in-process client can register at
// once), then the client, then the HTTP API.
func New(cfg *Config, logger *slog.Logger) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid agent configuration:\n%w", err)
	}
	// Every component logs through the tee, so `nomad monitor` sees them all.
	logs := newLogHub()
	logger = slog.New(teeHandler{logger.Handler(), newHubHandler(logs)})
	a := &Agent{cfg: cfg, logger: logger, logs: logs, metrics: telemetry.New(), errCh: make(chan error, 2), stopCh: make(chan struct{})}
	if err := a.prepareDataDir(); err != nil {
		return nil, err
	}
	steps := []struct {
		name string
		run  func() error
	}{
		// Before everything that listens or dials: the files are checked
		// (and a plaintext server warned about) before any port opens.
		{"tls", a.loadTLS},
		{"server", a.startServer},
		{"server rpc", a.setupRPC},
		// After the RPC path (DNS reads the catalog through it), before the
		// client (which answers it inside bridge-mode namespaces).
		{"dns", a.startDNS},
		// Listen before the client starts, so that the node registers the
		// HTTP address it really has (port 0 picks one) for forwarding.
		{"http listen", a.listenHTTP},
		{"client", a.startClient},
		{"http", a.startHTTP},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			a.Shutdown()
			return nil, fmt.Errorf("start %s: %w", s.name, err)
		}
	}
	return a, nil
}

// prepareDataDir creates the data dir; -dev uses a fresh temporary one.
func (a *Agent) prepareDataDir() error {
	if a.cfg.DevMode && a.cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "roam-dev-")
		if err != nil {
			return fmt.Errorf("create dev data dir: %w", err)
		}
		a.cfg.DataDir = dir
		a.tempDataDir = true
		return nil
	}
	abs, err := filepath.Abs(a.cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	a.cfg.DataDir = abs
	if err := os.MkdirAll(abs, 0o711); err != nil {
		return fmt.Errorf("create data_dir: %w", err)
	}
	return nil
}

func (a *Agent) bind(port int) string {
	return net.JoinHostPort(a.cfg.BindAddr, strconv.Itoa(port))
}

func (a *Agent) startServer() error {
	if !a.cfg.Server.Enabled {
		return nil
	}
	c := a.cfg
	sc := server.DefaultConfig()
	sc.DataDir = c.DataDir
	sc.NodeName = c.NodeName
	sc.Region, sc.Datacenter = c.Region, c.Datacenter
	sc.RPCAddr = a.bind(c.Ports.RPC)
	if c.Advertise.RPC != "" || c.BindAddr == "0.0.0.0" {
		sc.RPCAdvertise = c.advertiseAddr(c.Advertise.RPC, c.Ports.RPC)
	}
	sc.BootstrapExpect = c.Server.BootstrapExpect
	if c.Server.NumSchedulers > 0 {
		sc.NumSchedulers = c.Server.NumSchedulers
	}
	sc.MaxPlacementsPerEval = c.Server.MaxPlacementsPerEval
	sc.EventBufferSize = c.Server.EventBufferSize
	sc.JobLimits = c.Limits.Job
	sc.HeartbeatGrace = c.Server.HeartbeatGrace
	sc.FailoverHeartbeatTTL = c.Server.FailoverHeartbeatTTL
	sc.RetryJoin = c.Server.RetryJoin
	sc.RaftMultiplier = c.Server.RaftMultiplier
	sc.EvalGCThreshold, sc.JobGCThreshold, sc.NodeGCThreshold = c.Server.EvalGCThreshold, c.Server.JobGCThreshold, c.Server.NodeGCThreshold
	if c.Server.DeploymentGCThreshold > 0 {
		sc.DeploymentGCThreshold = c.Server.DeploymentGCThreshold
	}
	if c.Server.GCInterval > 0 {
		sc.GCInterval = c.Server.GCInterval
	}
	sc.RootKeyRotationThreshold = c.Server.RootKeyRotationThreshold
	sc.RootKeyGCThreshold, sc.RootKeyGCInterval = c.Server.RootKeyGCThreshold, c.Server.RootKeyGCInterval
	sc.ConnectLeafTTL = c.Server.ConnectLeafTTL
	sc.OIDCIssuer = c.Server.OIDCIssuer
	// Members' build tag is the Nomad version roam speaks, as `nomad server
	// members` shows it; roam's own version is in /v1/agent/self.
	sc.Version = version.NomadCompatible
	sc.Metrics = a.metrics
	sc.DriverConfigs = builtinDriverConfigs()
	sc.DevMode = c.DevMode
	sc.ResetCorruptState = c.ResetState
	sc.Logger = a.logger
	sc.TLS = a.rpcTLS()
	srv, err := server.NewServer(sc)
	if err != nil {
		return err
	}
	a.server = srv
	go a.forwardErr("server", srv.Err())
	return nil
}

// forwardErr passes a component's fatal failure on to Err until Shutdown.
func (a *Agent) forwardErr(name string, ch <-chan error) {
	select {
	case err := <-ch:
		select {
		case a.errCh <- fmt.Errorf("%s: %w", name, err):
		default: // another failure is already being reported
		}
	case <-a.stopCh:
	}
}

// setupRPC picks how the client and the HTTP API reach the servers: the
// in-process server when there is one, else a connection pool to client.servers.
func (a *Agent) setupRPC() error {
	if a.server != nil {
		a.rpc = a.server
		return nil
	}
	a.pool = msgrpc.NewPool(a.logger.With("component", "rpc-pool"), msgrpc.WithTLS(a.rpcDialTLS()))
	r := newServerRPC(a.pool, a.cfg.Client.Servers, a.cfg.Ports.RPC)
	if b := a.rpcTLS(); b != nil && b.OwnRole() == clustertls.RoleClient {
		r.clientCert = clustertls.ClientName(a.cfg.Region)
	}
	a.rpc = r
	return nil
}

func (a *Agent) startClient() error {
	if !a.cfg.Client.Enabled {
		return nil
	}
	cl, err := client.New(a.clientConfig())
	if err != nil {
		return err
	}
	a.client = cl
	ctx, cancel := context.WithCancel(context.Background())
	a.clientCancel = cancel
	a.clientDone = make(chan struct{})
	go func() {
		defer close(a.clientDone)
		if err := cl.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.logger.Error("client stopped", "error", err)
			a.errCh <- fmt.Errorf("client: %w", err)
		}
	}()
	return nil
}

func (a *Agent) clientConfig() *client.Config {
	c := a.cfg
	cc := &client.Config{
		DataDir: c.DataDir, StateDir: c.Client.StateDir, AllocDir: c.Client.AllocDir,
		ResetCorruptState: c.ResetState, RPC: a.rpc, Servers: c.Client.Servers, NodeName: c.NodeName,
		Datacenter: c.Datacenter, Region: c.Region, NodeClass: c.Client.NodeClass,
		NodePool: c.Client.NodePool, Meta: c.Client.Meta, Options: c.Client.Options,
		Reserved: client.Reserved{
			CPU: c.Client.Reserved.CPU, Cores: c.Client.Reserved.Cores, MemoryMB: c.Client.Reserved.MemoryMB,
			DiskMB: c.Client.Reserved.DiskMB, ReservedPorts: c.Client.Reserved.ReservedPorts,
		},
		NetworkInterface: c.Client.NetworkInterface,
		MinDynamicPort:   c.Client.MinDynamicPort, MaxDynamicPort: c.Client.MaxDynamicPort,
		HostVolumes:  map[string]*structs.ClientHostVolumeConfig{},
		HostNetworks: map[string]*structs.ClientHostNetworkConfig{},
		Plugins:      c.Plugins, MaxKillTimeout: c.Client.MaxKillTimeout,
		HTTPAddr: a.httpAdvertise(),
		Version:  version.Version, NomadVersion: version.NomadCompatible,
		GCInterval: c.Client.GCInterval, GCMaxAllocs: c.Client.GCMaxAllocs,
		GCDiskUsageThreshold: c.Client.GCDiskUsageThreshold, GCInodeUsageThreshold: c.Client.GCInodeUsageThreshold,
		Executor: c.Client.Executor, Artifacts: c.Client.Artifact, Templates: a.templateSandbox(),
		ChrootEnv: c.Client.ChrootEnv, CgroupParent: c.Client.CgroupParent,
		CNIPath: c.Client.CNIPath, CNIConfigDir: c.Client.CNIConfigDir, CNIInterfacePrefix: c.Client.CNIInterfacePrefix,
		BridgeName: c.Client.BridgeNetworkName, BridgeSubnet: c.Client.BridgeSubnet, BridgeHairpin: c.Client.BridgeHairpin,
		BridgeChainPrefix: c.Client.BridgeChainPrefix, BridgeVethPrefix: c.Client.BridgeVethPrefix,
		BridgeFirewall:        c.Client.BridgeFirewall,
		NetworkRepairInterval: c.Client.NetworkRepairInterval, DisableBridge: c.Client.DisableBridge,
		DefaultIntentionPolicy: c.Client.DefaultIntentionPolicy,
		Ephemeral:              a.tempDataDir,
		Logger:                 a.logger,
	}
	if a.dns != nil {
		cc.DNS = a.dns // a nil *dns.Server would be a non-nil interface
	}
	for name, v := range c.Client.HostVolumes {
		cc.HostVolumes[name] = &structs.ClientHostVolumeConfig{Name: name, Path: v.Path, ReadOnly: v.ReadOnly}
	}
	for name, n := range c.Client.HostNetworks {
		cc.HostNetworks[name] = &structs.ClientHostNetworkConfig{Name: name, CIDR: n.CIDR, Interface: n.Interface, ReservedPorts: n.ReservedPorts}
	}
	return cc
}

func (a *Agent) listenHTTP() error {
	ln, err := net.Listen("tcp", a.bind(a.cfg.Ports.HTTP))
	if err != nil {
		return fmt.Errorf("listen for HTTP on %s: %w", a.bind(a.cfg.Ports.HTTP), err)
	}
	// One client may not hold enough connections (idle, or blocking
	// queries) to use up the agent's file descriptors.
	a.httpLn = connlimit.New(ln, a.cfg.Limits.HTTPMaxConnsPerClient)
	return nil
}

// httpAdvertise is the HTTP address other agents reach this one at: the
// advertised address, with the port actually bound when ports.http is 0.
func (a *Agent) httpAdvertise() string {
	port := a.cfg.Ports.HTTP
	if tcp, ok := a.httpLn.Addr().(*net.TCPAddr); ok && port == 0 {
		port = tcp.Port
	}
	return a.cfg.advertiseAddr(a.cfg.Advertise.HTTP, port)
}

// clientAPI serves /v1/client/... for the in-process client, if any.
func (a *Agent) clientAPI() httpapi.ClientAPI {
	if a.client == nil {
		return nil
	}
	return clientapi.New(clientapi.Config{
		Allocs: a.client, MaxReadBytes: a.cfg.Client.FSMaxReadBytes, Logger: a.logger,
		AllocDir: a.client.AllocRoot(), TotalCPUMHz: a.nodeCPUMHz,
		Doctor: func() []doctor.Check { return doctor.Run(doctorOptions(a.cfg)) },
	})
}

// nodeCPUMHz is the client node's fingerprinted CPU compute.
func (a *Agent) nodeCPUMHz() int64 {
	if n := a.client.Node(); n != nil {
		return n.NodeResources.Cpu.CpuShares
	}
	return 0
}

// templateSandbox runs tasks' templates in children of this binary (or of
// the configured one), never in the agent: see docs/templates.md, Limits.
func (a *Agent) templateSandbox() *template.Sandbox {
	sb := a.cfg.Client.Templates
	if sb.Binary.Path == "" {
		self, err := template.SelfBinary()
		if err != nil {
			a.logger.Error("templates: cannot find this binary to render in; templates render in the agent", "error", err)
			return nil
		}
		sb.Binary = self
	}
	return &sb
}

// jobParser evaluates job files sent to /v1/jobs/parse in children of this
// binary, under the configured limits.
func (a *Agent) jobParser() (httpapi.JobParser, error) {
	bin := a.cfg.Limits.JobParser
	if bin.Path == "" {
		self, err := sandbox.SelfBinary()
		if err != nil {
			return nil, fmt.Errorf("job parser: %w", err)
		}
		bin = self
	}
	return sandbox.Runner{Binary: bin, Limits: a.cfg.Limits.JobParse}, nil
}

func (a *Agent) startHTTP() error {
	ln := a.httpLn
	parser, err := a.jobParser()
	if err != nil {
		return err
	}
	cfg := httpapi.Config{
		RPC: a.rpc, Agent: &agentInfo{a: a}, Client: a.clientAPI(), Logger: a.logger,
		Browsers: a.browserRules(), JobParser: parser, UI: ui.Handler(), ForwardTLS: a.forwardTLS(),
	}
	if a.client != nil {
		cfg.Connect = a.client.Connect() // a nil *client.Connect would be a non-nil interface
	}
	if a.cfg.EnableDebug {
		cfg.Debug = pprofHandler()
		a.logger.Warn("enable_debug: serving /debug/pprof/ on the HTTP port", "addr", ln.Addr().String())
	}
	handler := httpapi.New(cfg)
	a.warnIfListeningEverywhere()
	// Requests' contexts end when the agent shuts down, so blocking queries
	// (templates' watches, CLI monitors) return instead of holding the
	// shutdown until its timeout.
	base, cancel := context.WithCancel(context.Background())
	a.httpCancel = cancel
	a.httpSrv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return base }}
	go func() {
		if err := a.httpSrv.Serve(a.httpsListener(ln)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.errCh <- fmt.Errorf("http: %w", err)
		}
	}()
	return nil
}

// HTTPAddr is the address the HTTP API listens on ("127.0.0.1:4646").
func (a *Agent) HTTPAddr() string {
	if a.httpLn == nil {
		return ""
	}
	return a.httpLn.Addr().String()
}

// Server is the in-process server, or nil.
func (a *Agent) Server() *server.Server { return a.server }

// Client is the in-process client, or nil.
func (a *Agent) Client() *client.Client { return a.client }

// Config is the agent's resolved configuration.
func (a *Agent) Config() *Config { return a.cfg }

// Err reports a component that stopped on its own.
func (a *Agent) Err() <-chan error { return a.errCh }

// WaitReady blocks until the agent can take work: a leader is known and, when
// a client runs, its node is registered.
func (a *Agent) WaitReady(ctx context.Context) error {
	if a.server != nil {
		if err := a.server.WaitForLeader(ctx); err != nil {
			return fmt.Errorf("wait for leader: %w", err)
		}
	}
	if a.client == nil {
		return nil
	}
	for {
		var resp structs.SingleNodeResponse
		err := a.rpc.RPC(structs.MethodNodeGetNode, &structs.NodeSpecificRequest{NodeID: a.client.NodeID()}, &resp)
		if err == nil && resp.Node != nil && resp.Node.Status == structs.NodeStatusReady {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for node registration: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Shutdown stops the HTTP API, then the client (tasks keep running: a client
// restart re-attaches to them), then the server. A -dev agent stops
// scheduling, then its tasks, and removes its data directory.
func (a *Agent) Shutdown() error {
	a.shutdownOnce.Do(func() {
		close(a.stopCh)
		var errs []error
		if a.httpSrv != nil {
			a.httpCancel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			errs = append(errs, a.httpSrv.Shutdown(ctx))
			cancel()
		} else if a.httpLn != nil {
			a.httpLn.Close() // New failed between listening and serving
		}
		a.stopDNS()
		if a.client != nil {
			if a.cfg.DevMode {
				// Scheduling stops first: the allocations about to be
				// destroyed would otherwise be replaced, and the
				// replacements outlive this agent.
				if a.server != nil {
					a.server.StopScheduling()
				}
				// The dev data dir is about to be deleted, so nothing could
				// re-attach to these tasks later: stop them now.
				a.destroyAllocs(30 * time.Second)
			}
			a.clientCancel()
			a.client.Shutdown()
			<-a.clientDone
		}
		if a.server != nil {
			errs = append(errs, a.server.Shutdown())
		}
		if a.pool != nil {
			errs = append(errs, a.pool.Close())
		}
		if a.cfg.DevMode {
			errs = append(errs, os.RemoveAll(a.cfg.DataDir))
		}
		a.shutdownErr = errors.Join(errs...)
	})
	return a.shutdownErr
}

// destroyAllocs stops every allocation of the in-process client and waits, up
// to timeout, for their tasks to be gone.
func (a *Agent) destroyAllocs(timeout time.Duration) {
	runners := a.client.AllocRunners()
	for _, ar := range runners {
		ar.Destroy()
	}
	deadline := time.After(timeout)
	for _, ar := range runners {
		select {
		case <-ar.DestroyCh():
		case <-deadline:
			a.logger.Warn("allocations still stopping at shutdown", "timeout", timeout)
			return
		}
	}
}
