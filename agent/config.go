package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/roam-sh/roam/client/artifact"
	"github.com/roam-sh/roam/client/fingerprint"
	"github.com/roam-sh/roam/dns"
	"github.com/roam-sh/roam/drivers/executor"
	"github.com/roam-sh/roam/jobspec/sandbox"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/server"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/template"
)

// Config is an agent's resolved configuration: defaults (or the -dev preset),
// then config files in order, then command-line flags.
type Config struct {
	DataDir    string
	BindAddr   string
	Region     string
	Datacenter string
	NodeName   string
	LogLevel   string
	LogJSON    bool
	// EnableDebug serves Go's profiler (/debug/pprof/) on the HTTP port.
	// Off by default: profiles expose internals and cost CPU while taken.
	EnableDebug bool
	Ports       Ports
	Advertise   Advertise
	// HTTPAPI widens which web pages and names the HTTP API serves.
	HTTPAPI HTTPAPIConfig
	Server  ServerConfig
	Client  ClientConfig
	// Plugins holds each task driver's plugin "<name>" { config { ... } }.
	Plugins map[string]map[string]any
	// DevMode marks the -dev preset: temporary data dir removed on shutdown.
	DevMode bool
	// ResetState (flag -reset-state only) moves corrupt state files aside
	// and starts without them instead of refusing to start. It has no
	// config-file key on purpose: a key left in a file would turn every
	// later corruption into the silent fresh start the refusal prevents.
	ResetState bool
	// Limits bound the work of one request (the limits block).
	Limits Limits
	// DNS is the dns block (agent/dns.go, docs/dns.md).
	DNS DNSConfig
	// TLS is the tls block (agent/tls.go, docs/agent.md).
	TLS TLSConfig
}

// Limits bound the work one request may cause on this agent.
type Limits struct {
	// JobParse bounds evaluating a job file for /v1/jobs/parse; zero
	// fields take jobspec/sandbox's defaults.
	JobParse sandbox.Limits
	// Job bounds a job's numeric fields at admission; zero fields take
	// server.DefaultJobLimits' values, negative ones are unbounded.
	Job server.JobLimits
	// JobParser, when set, is how the agent starts its job-file parser
	// children (tests re-execute the test binary); zero means this binary.
	JobParser sandbox.Binary
	// HTTPMaxConnsPerClient caps the HTTP connections one client address
	// holds open at once (Nomad's default, 100); 0 means no cap.
	HTTPMaxConnsPerClient int
}

// DefaultHTTPMaxConnsPerClient is Nomad's default for the same limit.
const DefaultHTTPMaxConnsPerClient = 100

// Ports are the agent's listening ports.
type Ports struct {
	HTTP int
	RPC  int
	Serf int
	// DNS is Consul's DNS port, 8600 by default (udp and tcp).
	DNS int
}

// Advertise are the addresses other agents use to reach this one ("host:port").
type Advertise struct {
	HTTP string
	RPC  string
	Serf string
}

// ServerConfig enables and tunes the server role.
type ServerConfig struct {
	Enabled         bool
	BootstrapExpect int
	NumSchedulers   int
	// MaxPlacementsPerEval bounds the new allocations one evaluation
	// places; the rest follow in continuation evaluations (0: 5000).
	MaxPlacementsPerEval int
	// EventBufferSize is how many log entries' events the event stream
	// keeps for readers that fall behind (event_buffer_size); 0 means
	// the server's default.
	EventBufferSize int
	HeartbeatGrace  time.Duration
	EvalGCThreshold time.Duration
	JobGCThreshold  time.Duration
	NodeGCThreshold time.Duration
	// DeploymentGCThreshold is how long a terminal deployment is kept
	// (deployment_gc_threshold); zero keeps the server's default (1h).
	DeploymentGCThreshold time.Duration
	// GCInterval is how often the leader collects garbage (job_gc_interval).
	GCInterval time.Duration
	// The identity keyring (docs/identity.md): root_key_rotation_threshold,
	// root_key_gc_threshold, root_key_gc_interval; zero keeps the default.
	RootKeyRotationThreshold time.Duration
	RootKeyGCThreshold       time.Duration
	RootKeyGCInterval        time.Duration
	// ConnectLeafTTL is how long mesh leaf certificates live
	// (connect_leaf_cert_ttl); a rotated-out CA root leaves the trust
	// bundle twice this after the rotation. Zero keeps 72h.
	ConnectLeafTTL time.Duration
	// OIDCIssuer is the "iss" of workload identities and turns on
	// /.well-known/openid-configuration (oidc_issuer).
	OIDCIssuer string
	RetryJoin  []string
	// RaftMultiplier scales Raft's timeouts (raft_multiplier); 0 means 1.
	RaftMultiplier int
	// FailoverHeartbeatTTL is how long nodes have to reach a new leader
	// (failover_heartbeat_ttl); 0 keeps the server's default.
	FailoverHeartbeatTTL time.Duration
}

// ClientConfig enables and tunes the client role.
type ClientConfig struct {
	Enabled            bool
	Servers            []string
	StateDir           string
	AllocDir           string
	NetworkInterface   string
	NodeClass          string
	NodePool           string
	Meta               map[string]string
	Options            map[string]string
	Reserved           Reserved
	MinDynamicPort     int
	MaxDynamicPort     int
	MaxKillTimeout     time.Duration
	CNIPath            string
	CNIConfigDir       string
	BridgeNetworkName  string
	BridgeSubnet       string
	BridgeHairpin      bool
	CNIInterfacePrefix string
	// BridgeChainPrefix and BridgeVethPrefix rename roam's iptables chains
	// and host veths (tests running several clients on one host).
	BridgeChainPrefix string
	BridgeVethPrefix  string
	// BridgeFirewall: auto (iptables when installed, else nftables),
	// iptables or nftables.
	BridgeFirewall string
	// DisableBridge: the node does not offer bridge mode (and creates no
	// bridge, chains or sysctls).
	DisableBridge bool
	// DefaultIntentionPolicy decides mesh connections no intention
	// matches: "allow" (default) or "deny" (docs/mesh.md).
	DefaultIntentionPolicy string
	// NetworkRepairInterval is how often allocation networks are checked.
	NetworkRepairInterval time.Duration
	HostVolumes           map[string]HostVolume
	HostNetworks          map[string]HostNetwork
	ChrootEnv             map[string]string
	// CgroupParent is the cgroup exec and java tasks live under ("" means
	// "roam", or "roam.slice" on cgroup v2).
	CgroupParent string
	GCInterval   time.Duration
	// GCMaxAllocs, GCDiskUsageThreshold and GCInodeUsageThreshold bound
	// what terminal allocations may hold on the node (client/gc.go).
	GCMaxAllocs           int
	GCDiskUsageThreshold  float64
	GCInodeUsageThreshold float64
	// FSMaxReadBytes bounds the file data one file API request reads
	// (clientapi.Config.MaxReadBytes); zero means its default.
	FSMaxReadBytes int64
	// Executor, when set, is how task drivers start executors (tests
	// re-execute the test binary); zero means this binary.
	Executor executor.Binary
	// Artifact is the client artifact block (local sources, fetch limits);
	// its Binary, like Executor, is set only by tests.
	Artifact artifact.Config
	// Templates bounds each task's template child (zero fields: package
	// template's defaults); its Binary, like Executor, is set only by tests.
	Templates template.Sandbox
}

// Reserved resources are never handed to tasks.
type Reserved struct {
	CPU           int
	Cores         string
	MemoryMB      int
	DiskMB        int
	ReservedPorts string
}

// HostVolume is a directory the client offers to jobs.
type HostVolume struct {
	Path     string
	ReadOnly bool
}

// HostNetwork is a named set of host addresses ports may be mapped on.
type HostNetwork struct {
	CIDR          string
	Interface     string
	ReservedPorts string
}

// DefaultConfig is the starting point without -dev.
func DefaultConfig() *Config {
	host, _ := os.Hostname()
	return &Config{
		BindAddr: "0.0.0.0", Region: "global", Datacenter: "dc1", NodeName: host, LogLevel: "INFO",
		Ports:  Ports{HTTP: 4646, RPC: 4647, Serf: 4648, DNS: dns.DefaultPort},
		DNS:    DefaultDNSConfig(),
		Limits: Limits{HTTPMaxConnsPerClient: DefaultHTTPMaxConnsPerClient},
		Server: ServerConfig{
			BootstrapExpect: 1, HeartbeatGrace: 10 * time.Second,
			EvalGCThreshold: time.Hour, JobGCThreshold: 4 * time.Hour, NodeGCThreshold: 24 * time.Hour,
		},
		Client: ClientConfig{
			MinDynamicPort: 20000, MaxDynamicPort: 32000, MaxKillTimeout: 30 * time.Second,
			// Debian's containernetworking-plugins live in /usr/lib/cni.
			CNIPath: "/opt/cni/bin:/usr/lib/cni", CNIConfigDir: "/opt/cni/config",
			BridgeNetworkName: netns.DefaultBridgeName, BridgeSubnet: "172.26.64.0/20", CNIInterfacePrefix: "eth",
			Meta: map[string]string{}, Options: map[string]string{},
			HostVolumes: map[string]HostVolume{}, HostNetworks: map[string]HostNetwork{},
			GCInterval: time.Minute, GCMaxAllocs: 50, GCDiskUsageThreshold: 80, GCInodeUsageThreshold: 70,
		},
		Plugins: map[string]map[string]any{},
	}
}

// DevConfig is the -dev preset: server and client in one process on loopback,
// raw_exec enabled, state in a temporary directory. Docker volumes stay off,
// unlike Nomad's -dev: a dev agent's docker tasks must not mount host files
// (raw_exec is the one unconfined driver it offers, and says so).
func DevConfig() *Config {
	c := DefaultConfig()
	c.DevMode = true
	c.BindAddr = "127.0.0.1"
	c.Server.Enabled = true
	c.Server.BootstrapExpect = 1
	c.Client.Enabled = true
	c.Client.NetworkInterface = "lo"
	c.Plugins["raw_exec"] = map[string]any{"enabled": true}
	return c
}

// merge lays a parsed file over c.
func (c *Config) merge(f *fileConfig) error {
	setStr(&c.DataDir, f.DataDir)
	setStr(&c.BindAddr, f.BindAddr)
	setStr(&c.Region, f.Region)
	setStr(&c.Datacenter, f.Datacenter)
	setStr(&c.NodeName, f.Name)
	setStr(&c.LogLevel, f.LogLevel)
	setBool(&c.LogJSON, f.LogJSON)
	setBool(&c.EnableDebug, f.EnableDebug)
	if p := f.Ports; p != nil {
		setInt(&c.Ports.HTTP, p.HTTP)
		setInt(&c.Ports.RPC, p.RPC)
		setInt(&c.Ports.Serf, p.Serf)
		setInt(&c.Ports.DNS, p.DNS)
		c.DNS.portSet = c.DNS.portSet || p.DNS != nil
	}
	if a := f.Advertise; a != nil {
		setStr(&c.Advertise.HTTP, a.HTTP)
		setStr(&c.Advertise.RPC, a.RPC)
		setStr(&c.Advertise.Serf, a.Serf)
	}
	c.HTTPAPI.merge(f.HTTPAPI)
	c.TLS.merge(f.TLS)
	if err := c.DNS.merge(f.DNS); err != nil {
		return err
	}
	if err := c.mergeServer(f.Server); err != nil {
		return err
	}
	if err := c.mergeLimits(f.Limits); err != nil {
		return err
	}
	if err := c.mergeClient(f.Client); err != nil {
		return err
	}
	for _, p := range f.Plugins {
		cfg := map[string]any{}
		if p.Config != nil {
			m, err := pluginConfigMap(p.Config.Body)
			if err != nil {
				return err
			}
			cfg = m
		}
		if c.Plugins[p.Name] == nil {
			c.Plugins[p.Name] = map[string]any{}
		}
		for k, v := range cfg {
			c.Plugins[p.Name][k] = v
		}
	}
	return nil
}

func (c *Config) mergeLimits(l *fileLimits) error {
	if l == nil {
		return nil
	}
	if n := l.HTTPMaxConnsPerClient; n != nil {
		if *n < 0 {
			return fmt.Errorf("limits: http_max_conns_per_client must be 0 (no cap) or positive, not %d", *n)
		}
		c.Limits.HTTPMaxConnsPerClient = *n
	}
	p := &c.Limits.JobParse
	if err := setDuration(&p.Timeout, l.JobParseTimeout, "job_parse_timeout"); err != nil {
		return err
	}
	if err := setDuration(&p.CPU, l.JobParseCPU, "job_parse_cpu"); err != nil {
		return err
	}
	for _, f := range []struct {
		dst any
		src *int
		key string
	}{{&p.Memory, l.JobParseMaxMemoryMB, "job_parse_max_memory_mb"}, {&p.Output, l.JobParseMaxOutputMB, "job_parse_max_output_mb"}} {
		if f.src == nil {
			continue
		}
		if *f.src <= 0 {
			return fmt.Errorf("limits: %s must be positive, not %d", f.key, *f.src)
		}
		switch dst := f.dst.(type) {
		case *uint64:
			*dst = uint64(*f.src) << 20
		case *int64:
			*dst = int64(*f.src) << 20
		}
	}
	return c.mergeJobLimits(l)
}

// mergeJobLimits reads the job_max_* keys: a positive value is the bound,
// -1 removes it (as a negative server.JobLimits field does). Zero and other
// negatives are refused: zero would silently mean "the default", which is
// not what someone writing 0 meant.
func (c *Config) mergeJobLimits(l *fileLimits) error {
	j := &c.Limits.Job
	for _, f := range []struct {
		dst *int
		src *int
		key string
	}{
		{&j.TaskCPU, l.JobMaxTaskCPU, "job_max_task_cpu"},
		{&j.TaskCores, l.JobMaxTaskCores, "job_max_task_cores"},
		{&j.TaskMemoryMB, l.JobMaxTaskMemoryMB, "job_max_task_memory_mb"},
		{&j.DiskMB, l.JobMaxDiskMB, "job_max_disk_mb"},
		{&j.GroupCount, l.JobMaxGroupCount, "job_max_group_count"},
	} {
		if f.src == nil {
			continue
		}
		if *f.src == 0 || *f.src < -1 {
			return fmt.Errorf("limits: %s must be positive, or -1 for no bound, not %d", f.key, *f.src)
		}
		*f.dst = *f.src
	}
	return nil
}

func (c *Config) mergeServer(s *fileServer) error {
	if s == nil {
		return nil
	}
	setBool(&c.Server.Enabled, s.Enabled)
	setInt(&c.Server.BootstrapExpect, s.BootstrapExpect)
	setInt(&c.Server.NumSchedulers, s.NumSchedulers)
	setInt(&c.Server.MaxPlacementsPerEval, s.MaxPlacementsPerEval)
	setInt(&c.Server.EventBufferSize, s.EventBufferSize)
	for _, d := range []struct {
		dst *time.Duration
		src *string
		key string
	}{
		{&c.Server.HeartbeatGrace, s.HeartbeatGrace, "heartbeat_grace"},
		{&c.Server.FailoverHeartbeatTTL, s.FailoverHeartbeatTTL, "failover_heartbeat_ttl"},
		{&c.Server.EvalGCThreshold, s.EvalGCThreshold, "eval_gc_threshold"},
		{&c.Server.JobGCThreshold, s.JobGCThreshold, "job_gc_threshold"},
		{&c.Server.NodeGCThreshold, s.NodeGCThreshold, "node_gc_threshold"},
		{&c.Server.DeploymentGCThreshold, s.DeploymentGC, "deployment_gc_threshold"},
		{&c.Server.GCInterval, s.JobGCInterval, "job_gc_interval"},
		{&c.Server.RootKeyRotationThreshold, s.RootKeyRotation, "root_key_rotation_threshold"},
		{&c.Server.RootKeyGCThreshold, s.RootKeyGC, "root_key_gc_threshold"},
		{&c.Server.RootKeyGCInterval, s.RootKeyGCEvery, "root_key_gc_interval"},
		{&c.Server.ConnectLeafTTL, s.ConnectLeafTTL, "connect_leaf_cert_ttl"},
	} {
		if err := setDuration(d.dst, d.src, "server."+d.key); err != nil {
			return err
		}
	}
	setStr(&c.Server.OIDCIssuer, s.OIDCIssuer)
	setInt(&c.Server.RaftMultiplier, s.RaftMultiplier)
	if s.ServerJoin != nil {
		c.Server.RetryJoin = append(c.Server.RetryJoin, s.ServerJoin.RetryJoin...)
	}
	return nil
}

func (c *Config) mergeClient(f *fileClient) error {
	if f == nil {
		return nil
	}
	cl := &c.Client
	setBool(&cl.Enabled, f.Enabled)
	if len(f.Servers) > 0 {
		cl.Servers = f.Servers
	}
	for _, s := range []struct {
		dst *string
		src *string
	}{
		{&cl.StateDir, f.StateDir}, {&cl.AllocDir, f.AllocDir}, {&cl.NetworkInterface, f.NetworkInterface},
		{&cl.NodeClass, f.NodeClass}, {&cl.NodePool, f.NodePool}, {&cl.CNIPath, f.CNIPath},
		{&cl.CNIConfigDir, f.CNIConfigDir}, {&cl.BridgeNetworkName, f.BridgeName},
		{&cl.BridgeSubnet, f.BridgeSubnet}, {&cl.CNIInterfacePrefix, f.CNIInterfacePrefix},
		{&cl.CgroupParent, f.CgroupParent}, {&cl.BridgeChainPrefix, f.BridgeChainPrefix},
		{&cl.BridgeVethPrefix, f.BridgeVethPrefix}, {&cl.BridgeFirewall, f.BridgeFirewall},
		{&cl.DefaultIntentionPolicy, f.DefaultIntentionPolicy},
	} {
		setStr(s.dst, s.src)
	}
	setBool(&cl.BridgeHairpin, f.BridgeHairpin)
	setBool(&cl.DisableBridge, f.DisableBridge)
	setInt(&cl.MinDynamicPort, f.MinDynamicPort)
	setInt(&cl.MaxDynamicPort, f.MaxDynamicPort)
	if err := setDuration(&cl.MaxKillTimeout, f.MaxKillTimeout, "client.max_kill_timeout"); err != nil {
		return err
	}
	if err := setDuration(&cl.GCInterval, f.GCInterval, "client.gc_interval"); err != nil {
		return err
	}
	if err := setDuration(&cl.NetworkRepairInterval, f.NetworkRepair, "client.network_repair_interval"); err != nil {
		return err
	}
	if err := f.Artifact.apply(&cl.Artifact); err != nil {
		return err
	}
	setInt(&cl.GCMaxAllocs, f.GCMaxAllocs)
	if f.GCDiskUsage != nil {
		cl.GCDiskUsageThreshold = *f.GCDiskUsage
	}
	if f.GCInodeUsage != nil {
		cl.GCInodeUsageThreshold = *f.GCInodeUsage
	}
	if f.FSMaxReadBytes != nil {
		if *f.FSMaxReadBytes <= 0 {
			return fmt.Errorf("client.fs_max_read_bytes must be positive; got %d", *f.FSMaxReadBytes)
		}
		cl.FSMaxReadBytes = *f.FSMaxReadBytes
	}
	cl.Meta = mergeStrings(cl.Meta, f.Meta)
	cl.Options = mergeStrings(cl.Options, f.Options)
	if f.ChrootEnv != nil {
		cl.ChrootEnv = mergeStrings(cl.ChrootEnv, f.ChrootEnv)
	}
	if r := f.Reserved; r != nil {
		setInt(&cl.Reserved.CPU, r.CPU)
		setStr(&cl.Reserved.Cores, r.Cores)
		setInt(&cl.Reserved.MemoryMB, r.Memory)
		setInt(&cl.Reserved.DiskMB, r.Disk)
		setStr(&cl.Reserved.ReservedPorts, r.ReservedPorts)
	}
	for _, v := range f.HostVolumes {
		cl.HostVolumes[v.Name] = HostVolume{Path: v.Path, ReadOnly: v.ReadOnly}
	}
	for _, n := range f.HostNetworks {
		hn := HostNetwork{}
		setStr(&hn.CIDR, n.CIDR)
		setStr(&hn.Interface, n.Interface)
		setStr(&hn.ReservedPorts, n.ReservedPorts)
		if _, err := fingerprint.ParseCIDRs(hn.CIDR); err != nil {
			return fmt.Errorf("client.host_network %q: %w", n.Name, err)
		}
		if strings.Contains(hn.Interface, "{{") {
			return fmt.Errorf("client.host_network %q: interface %q: go-sockaddr templates are not supported; name the interface", n.Name, hn.Interface)
		}
		cl.HostNetworks[n.Name] = hn
	}
	return nil
}

func setStr(dst *string, src *string) {
	if src != nil {
		*dst = *src
	}
}

func setInt(dst *int, src *int) {
	if src != nil {
		*dst = *src
	}
}

func setBool(dst *bool, src *bool) {
	if src != nil {
		*dst = *src
	}
}

func setDuration(dst *time.Duration, src *string, key string) error {
	if src == nil {
		return nil
	}
	d, err := time.ParseDuration(*src)
	if err != nil {
		return fmt.Errorf("%s: %q is not a duration (use e.g. \"30s\", \"5m\")", key, *src)
	}
	*dst = d
	return nil
}

// Validate reports every problem with the resolved configuration.
func (c *Config) Validate() error {
	var errs []error
	if !c.Server.Enabled && !c.Client.Enabled {
		errs = append(errs, errors.New("neither server nor client is enabled: set server { enabled = true } and/or client { enabled = true }, or use -dev"))
	}
	if c.DataDir == "" && !c.DevMode {
		errs = append(errs, errors.New("data_dir must be set (or run with -dev for a temporary one)"))
	}
	if net.ParseIP(c.BindAddr) == nil {
		errs = append(errs, fmt.Errorf("bind_addr %q is not an IP address", c.BindAddr))
	}
	for name, p := range map[string]int{"http": c.Ports.HTTP, "rpc": c.Ports.RPC, "serf": c.Ports.Serf} {
		if p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("ports.%s %d is out of range", name, p))
		}
	}
	if c.Server.Enabled && c.Server.BootstrapExpect < 1 {
		errs = append(errs, fmt.Errorf("server.bootstrap_expect must be at least 1, not %d", c.Server.BootstrapExpect))
	}
	if c.Client.Enabled && !c.Server.Enabled && len(c.Client.Servers) == 0 {
		errs = append(errs, errors.New("client.servers must list at least one server when this agent is not a server"))
	}
	if c.Client.MinDynamicPort < 1 || c.Client.MaxDynamicPort > 65535 || c.Client.MinDynamicPort > c.Client.MaxDynamicPort {
		errs = append(errs, fmt.Errorf("client dynamic port range %d-%d is invalid", c.Client.MinDynamicPort, c.Client.MaxDynamicPort))
	}
	if p := c.Client.NodePool; p != "" && (!structs.ValidNodePoolName(p) || p == structs.NodePoolAll) {
		errs = append(errs, fmt.Errorf("client.node_pool %q: a pool name is 1 to 128 letters, digits, - _ and ., and not %q (every node is in it)", p, structs.NodePoolAll))
	}
	switch c.Client.BridgeFirewall {
	case "", "auto", "iptables", "nftables":
	default:
		errs = append(errs, fmt.Errorf("client.bridge_network_firewall %q: want auto, iptables or nftables", c.Client.BridgeFirewall))
	}
	switch c.Client.DefaultIntentionPolicy {
	case "", "allow", "deny":
	default:
		errs = append(errs, fmt.Errorf("client.default_intention_policy %q: want allow or deny", c.Client.DefaultIntentionPolicy))
	}
	for name, v := range c.Client.HostVolumes {
		if v.Path == "" {
			errs = append(errs, fmt.Errorf("client.host_volume %q: path must be set", name))
		}
	}
	for name, n := range c.Client.HostNetworks {
		if n.CIDR == "" && n.Interface == "" {
			errs = append(errs, fmt.Errorf("client.host_network %q: set cidr or interface", name))
		}
	}
	if _, err := parseLogLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.HTTPAPI.validate()...)
	errs = append(errs, c.TLS.validate()...)
	errs = append(errs, c.DNS.validate(c.Ports.DNS)...)
	return errors.Join(errs...)
}

// PluginEnabled reports whether a driver plugin's config says enabled = true.
func (c *Config) PluginEnabled(name string) bool {
	v, ok := c.Plugins[name]["enabled"]
	if !ok {
		return false
	}
	switch b := v.(type) {
	case bool:
		return b
	case string:
		ok, _ := strconv.ParseBool(b)
		return ok
	}
	return false
}

// advertiseAddr returns the advertised host:port for a port, defaulting to the
// bind address (or loopback when bound to all interfaces in dev mode).
func (c *Config) advertiseAddr(explicit string, port int) string {
	if explicit != "" {
		if _, _, err := net.SplitHostPort(explicit); err == nil {
			return explicit
		}
		return net.JoinHostPort(explicit, strconv.Itoa(port))
	}
	host := c.BindAddr
	if host == "0.0.0.0" || host == "::" {
		host = firstNonLoopback()
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func firstNonLoopback() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

func parseLogLevel(s string) (string, error) {
	switch strings.ToUpper(s) {
	case "TRACE", "DEBUG":
		return "DEBUG", nil
	case "INFO", "":
		return "INFO", nil
	case "WARN", "WARNING":
		return "WARN", nil
	case "ERROR", "ERR":
		return "ERROR", nil
	}
	return "", fmt.Errorf("log_level %q is not one of TRACE, DEBUG, INFO, WARN, ERROR", s)
}
