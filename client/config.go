package client

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roam-sh/roam/client/allocrunner"
	"github.com/roam-sh/roam/client/artifact"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/executor"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/template"
)

// RPCer is the client's connection to the servers: the in-process server in
// dev mode, a connection pool otherwise. Methods are structs' Method
// constants (MethodNodeRegister, MethodNodeUpdateStatus,
// MethodNodeGetClientAllocs, MethodAllocGetAllocs, MethodNodeUpdateAlloc),
// types are those of structs/rpc.go. An
// endpoint's error matches its structs sentinel with errors.Is either way;
// a read ends when the context in its QueryOptions does.
type RPCer interface {
	RPC(method string, args any, reply any) error
}

// Default versions reported by the version fingerprint.
const (
	DefaultVersion = "0.1.0-dev"
	// DefaultNomadVersion is the Nomad version roam presents, for job files
	// that constrain on ${attr.nomad.version}.
	DefaultNomadVersion = "1.9.7"
)

// Config configures a Client. Zero values take the defaults noted.
type Config struct {
	// DataDir is the default parent of StateDir (<data_dir>/client) and
	// AllocDir (<data_dir>/alloc).
	DataDir  string
	StateDir string
	AllocDir string
	// RPC reaches the servers.
	RPC RPCer
	// Servers is informational (the RPCer owns the transport).
	Servers []string

	NodeName   string // default: hostname
	Datacenter string // default: dc1
	Region     string // default: global
	// DefaultIntentionPolicy decides mesh connections no intention
	// matches: "allow" (the default, as Consul's without ACLs) or "deny".
	DefaultIntentionPolicy string
	NodeClass              string
	NodePool               string // default: default
	Meta                   map[string]string
	// Options are the client's legacy key/value options: driver.raw_exec.enable
	// and env.denylist are honoured.
	Options  map[string]string
	Reserved Reserved
	// NetworkInterface whose addresses form the default host network; ""
	// picks the default route's interface ("lo" in dev mode).
	NetworkInterface string
	MinDynamicPort   int // default: 20000
	MaxDynamicPort   int // default: 32000
	HostVolumes      map[string]*structs.ClientHostVolumeConfig
	HostNetworks     map[string]*structs.ClientHostNetworkConfig

	// Group networking (client/network, docs/networking.md).
	// CNIPath is the plugins' search path (default netns.DefaultCNIPath,
	// or $CNI_PATH); CNIConfigDir holds operator networks (default
	// netns.DefaultCNIConfigDir); CNIInterfacePrefix names interfaces in
	// CNI namespaces ("eth").
	CNIPath            string
	CNIConfigDir       string
	CNIInterfacePrefix string
	// BridgeName and BridgeSubnet are the bridge network's device and
	// IPv4 subnet ("nomad", "172.26.64.0/20"); BridgeHairpin lets an
	// allocation reach its own mapped ports through the bridge.
	BridgeName    string
	BridgeSubnet  string
	BridgeHairpin bool
	// BridgeChainPrefix and BridgeVethPrefix name roam's iptables chains
	// and host-side veths ("ROAM", "roam"); tests set their own.
	BridgeChainPrefix string
	BridgeVethPrefix  string
	// BridgeFirewall is the bridge rules' backend: auto, iptables or
	// nftables (netns.Firewall*).
	BridgeFirewall string
	// DisableBridge turns bridge mode off (the node does not offer it).
	DisableBridge bool
	// Ephemeral says the client's state goes when it stops (a -dev agent's
	// temporary data dir): nothing can re-attach to its allocations later,
	// so it removes its bridge when it stops, and what it leaves after a
	// crash is removed by the next client to start (netns.Owner).
	Ephemeral bool
	// OwnersDir holds the ownership records of the clients on this host
	// (default netns.DefaultOwnersDir).
	OwnersDir string
	// NetworkRepairInterval is how often live allocation networks are
	// checked and repaired (10s).
	NetworkRepairInterval time.Duration
	// Plugins holds each driver's plugin "<name>" { config { ... } } block.
	Plugins map[string]map[string]any
	// ChrootEnv maps host paths to paths inside exec and java task roots
	// (client chroot_env); empty means the drivers' default set.
	ChrootEnv map[string]string
	// CgroupParent is the cgroup exec and java tasks live under ("" means
	// the drivers' default: "roam", or "roam.slice" on cgroup v2).
	CgroupParent string
	// Drivers, when set, replaces the built-in drivers (tests, embedders).
	Drivers []drivers.Driver
	// Executor is how drivers start executor processes; zero means this
	// binary's "executor" subcommand.
	Executor executor.Binary
	// DockerCollector is how the docker driver starts its log collectors;
	// zero means this binary's "docker-logger" subcommand.
	DockerCollector executor.Binary
	// Artifacts is the client `artifact` block: whether jobs may fetch from
	// this host's file system, the fetch limits, and how the sandboxed
	// fetcher is started (zero Binary: this binary's artifact-fetch).
	Artifacts artifact.Config
	// Templates runs tasks' template engines in child processes under
	// limits; nil renders them in this process (tests of the client).
	Templates *template.Sandbox
	// MaxKillTimeout caps every task's kill_timeout (default 30s).
	MaxKillTimeout time.Duration
	// EnvDenylist lists host variables never passed to tasks (default: the
	// taskenv default list, or the env.denylist option).
	EnvDenylist  []string
	HTTPAddr     string
	Version      string // default: DefaultVersion
	NomadVersion string // default: DefaultNomadVersion

	// UpdateInterval is how long allocation updates are coalesced (200ms).
	UpdateInterval time.Duration
	// DriverFingerprintInterval is how often drivers are re-fingerprinted (30s).
	DriverFingerprintInterval time.Duration
	// MaxQueryTime bounds the blocking allocation query (5m).
	MaxQueryTime time.Duration

	// Local garbage collection of terminal allocations (gc.go).
	// GCInterval is how often the limits are checked (1m).
	GCInterval time.Duration
	// GCMaxAllocs: with more allocations than this on the node, the oldest
	// terminal ones are collected (50).
	GCMaxAllocs int
	// GCDiskUsageThreshold and GCInodeUsageThreshold are percentages of the
	// alloc dir's file system (80 and 70) above which terminal allocations
	// are collected.
	GCDiskUsageThreshold  float64
	GCInodeUsageThreshold float64
	// DNS answers the agent's DNS inside bridge-mode allocations'
	// namespaces (the agent's dns.Server); nil leaves their resolv.conf
	// the host's.
	DNS    allocrunner.NamespaceDNS
	Logger *slog.Logger
	// ResetCorruptState moves a corrupt client.db aside and starts with an
	// empty one instead of refusing to start (roam agent -reset-state).
	ResetCorruptState bool
}

// Reserved are resources held back from scheduling.
type Reserved struct {
	CPU           int
	Cores         string // cpuset list, "0-1"
	MemoryMB      int
	DiskMB        int
	ReservedPorts string // "22,8000-8100"
}

// withDefaults returns a copy of c with the defaults applied.
func (c Config) withDefaults() (Config, error) {
	if c.RPC == nil {
		return c, errors.New("client config: RPC is required")
	}
	if c.StateDir == "" || c.AllocDir == "" {
		if c.DataDir == "" {
			return c, errors.New("client config: set data_dir, or both state_dir and alloc_dir")
		}
		c.StateDir = orDefault(c.StateDir, filepath.Join(c.DataDir, "client"))
		c.AllocDir = orDefault(c.AllocDir, filepath.Join(c.DataDir, "alloc"))
	}
	c.Datacenter = orDefault(c.Datacenter, "dc1")
	c.Region = orDefault(c.Region, structs.DefaultRegion)
	c.NodePool = orDefault(c.NodePool, structs.DefaultNodePool)
	c.Version = orDefault(c.Version, DefaultVersion)
	c.NomadVersion = orDefault(c.NomadVersion, DefaultNomadVersion)
	if c.MinDynamicPort == 0 && c.MaxDynamicPort == 0 {
		c.MinDynamicPort, c.MaxDynamicPort = structs.DefaultMinDynamicPort, structs.DefaultMaxDynamicPort
	}
	c.MaxKillTimeout = orDuration(c.MaxKillTimeout, 30*time.Second)
	c.CNIPath = orDefault(c.CNIPath, orDefault(os.Getenv("CNI_PATH"), netns.DefaultCNIPath))
	c.CNIConfigDir = orDefault(c.CNIConfigDir, netns.DefaultCNIConfigDir)
	c.CNIInterfacePrefix = orDefault(c.CNIInterfacePrefix, "eth")
	c.BridgeName = orDefault(c.BridgeName, netns.DefaultBridgeName)
	c.BridgeSubnet = orDefault(c.BridgeSubnet, netns.DefaultBridgeSubnet)
	c.OwnersDir = orDefault(c.OwnersDir, netns.DefaultOwnersDir)
	c.NetworkRepairInterval = orDuration(c.NetworkRepairInterval, 10*time.Second)
	c.UpdateInterval = orDuration(c.UpdateInterval, 200*time.Millisecond)
	c.DriverFingerprintInterval = orDuration(c.DriverFingerprintInterval, 30*time.Second)
	c.MaxQueryTime = orDuration(c.MaxQueryTime, 5*time.Minute)
	c.GCInterval = orDuration(c.GCInterval, DefaultGCInterval)
	if c.GCMaxAllocs <= 0 {
		c.GCMaxAllocs = DefaultGCMaxAllocs
	}
	if c.GCDiskUsageThreshold <= 0 {
		c.GCDiskUsageThreshold = DefaultGCDiskUsageThreshold
	}
	if c.GCInodeUsageThreshold <= 0 {
		c.GCInodeUsageThreshold = DefaultGCInodeUsageThreshold
	}
	if c.EnvDenylist == nil {
		if v := c.Options["env.denylist"]; v != "" {
			c.EnvDenylist = splitList(v)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func orDuration(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
