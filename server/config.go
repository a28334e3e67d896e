package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"time"

	"github.com/roam-sh/roam/internal/clustertls"
	"github.com/roam-sh/roam/internal/telemetry"
	"github.com/roam-sh/roam/mesh/ca"
	"github.com/roam-sh/roam/scheduler"
	"github.com/roam-sh/roam/structs"
)

// Config configures a server. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// DataDir holds the Raft log, stable store and snapshots under
	// <DataDir>/server/raft. Empty keeps Raft in memory: nothing survives a
	// restart (tests of the in-memory path only).
	DataDir string
	// ResetCorruptState moves a corrupt raft.db or snapshot aside and starts
	// without it, instead of refusing to start (roam agent -reset-state).
	ResetCorruptState bool
	NodeName          string
	Region            string
	Datacenter        string

	// RPCAddr is the host:port the RPC (and Raft) listener binds; port 0
	// picks a free port, see Server.LocalAddr. RPCListener, when set, is used
	// instead of binding RPCAddr.
	RPCAddr     string
	RPCListener net.Listener
	// RPCAdvertise is the address other servers and clients use; defaults to
	// the bound address (with a non-loopback IP when bound to 0.0.0.0).
	RPCAdvertise string

	// BootstrapExpect is the number of servers that form the cluster. With 1
	// the server bootstraps itself as the single voter on first start.
	BootstrapExpect int
	// RetryJoin are addresses of other servers ("host:port", the port
	// defaulting to 4647) to say hello to until they answer and then for
	// good (server_join { retry_join }), see membership.go.
	RetryJoin []string
	// RaftMultiplier scales Raft's timeouts in a multi-server cluster
	// (raft_multiplier, 1 to 10).
	RaftMultiplier int

	// Autopilot (autopilot.go): how often the leader judges the servers'
	// health; the most time since a follower heard from the leader for it
	// to be healthy; how long a new server stays healthy before it votes;
	// how long a server is unreachable before it is removed.
	AutopilotInterval       time.Duration
	LastContactThreshold    time.Duration
	ServerStabilizationTime time.Duration
	DeadServerCleanup       time.Duration

	// NumSchedulers is the number of scheduling workers (default: CPUs).
	NumSchedulers int
	// MaxPlacementsPerEval bounds the new allocations one evaluation
	// places (max_placements_per_eval); 0 means
	// scheduler.DefaultMaxPlacementsPerEval. Ignored when Schedulers is set.
	MaxPlacementsPerEval int
	// EventBufferSize is how many log entries' events the event stream
	// keeps for readers that fall behind (event_buffer_size); 0 means
	// DefaultEventBufferSize.
	EventBufferSize int
	// Schedulers builds a scheduler per job type ("service", "batch",
	// "system", "sysbatch"); default scheduler.BuiltinSchedulers.
	Schedulers map[string]scheduler.Factory
	// AllocsFit checks that allocations fit a node; the plan applier uses it.
	// Default scheduler.AllocsFit.
	AllocsFit func(node *structs.Node, allocs []*structs.Allocation) (bool, string)
	// JobMutators and JobValidators are the ordered admission lists every
	// submitted job passes (Job.Register, Job.Plan, Job.Validate); nil means
	// DefaultJobMutators and DefaultJobValidators. See admission.go.
	JobMutators   []JobMutator
	JobValidators []JobValidator
	// JobLimits bound a job's numeric fields (admission_bounds.go); the
	// zero value is DefaultJobLimits.
	JobLimits JobLimits

	// MinHeartbeatTTL is the smallest TTL handed to clients; the TTL grows
	// with the number of nodes so that the servers receive at most
	// MaxHeartbeatsPerSecond heartbeats. HeartbeatGrace is added before a
	// node that missed its heartbeat is marked down.
	MinHeartbeatTTL        time.Duration
	MaxHeartbeatsPerSecond float64
	HeartbeatGrace         time.Duration
	// FailoverHeartbeatTTL is the time every node gets to heartbeat to a
	// new leader before it is marked down (failover_heartbeat_ttl): clients
	// need time to notice the leader change, and a leader change must not
	// replace work on nodes that are fine.
	FailoverHeartbeatTTL time.Duration

	// EvalNackTimeout is how long a worker may hold an evaluation without
	// acking; EvalDeliveryLimit how often it is handed out before it fails.
	EvalNackTimeout   time.Duration
	EvalDeliveryLimit int
	// EvalNackInitialDelay and EvalNackSubsequentDelay delay the redelivery of
	// a nacked evaluation (first nack, later nacks).
	EvalNackInitialDelay    time.Duration
	EvalNackSubsequentDelay time.Duration
	// EvalFailedFollowupWait delays the evaluation created for one that
	// reached the delivery limit.
	EvalFailedFollowupWait time.Duration

	// AllocUpdateBatchWindow coalesces client allocation updates arriving
	// within it into one Raft entry.
	AllocUpdateBatchWindow time.Duration

	// GCInterval is how often the leader collects garbage; objects are
	// collected once terminal for longer than their threshold.
	GCInterval      time.Duration
	EvalGCThreshold time.Duration
	JobGCThreshold  time.Duration
	NodeGCThreshold time.Duration
	// DeploymentGCThreshold is how long a terminal deployment is kept
	// (Nomad's deployment_gc_threshold).
	DeploymentGCThreshold time.Duration

	// RootKeyRotationThreshold is the age at which the leader rotates the
	// identity signing key; RootKeyGCThreshold how long an inactive key is
	// kept at least; RootKeyGCInterval how often both are checked.
	RootKeyRotationThreshold time.Duration
	RootKeyGCThreshold       time.Duration
	RootKeyGCInterval        time.Duration
	// ConnectLeafTTL is how long the mesh's leaf certificates live
	// (Consul's leaf_cert_ttl, 72 h). It also decides when a rotated-out
	// CA root leaves the trust bundle: twice this after the rotation
	// (server/connect_ca.go), once every leaf it signed has expired.
	ConnectLeafTTL time.Duration
	// OIDCIssuer, when set, is the "iss" claim of every workload identity and
	// turns on /.well-known/openid-configuration, so that third parties can
	// federate with roam as an OIDC identity provider. It must be the URL
	// they reach the HTTP API at (https://roam.example.com:4646).
	OIDCIssuer string

	// Version is reported in member tags.
	Version string
	Logger  *slog.Logger
	// DriverConfigs checks task driver configs at admission (the agent
	// hands in the drivers compiled into roam); nil checks none.
	DriverConfigs DriverConfigChecker
	// Metrics receives the server's counters and timings under Nomad's
	// names (raft, plan, worker); nil records none.
	Metrics *telemetry.Registry
	// DevMode trades durability for speed: the Raft log is not fsynced.
	DevMode bool
	// TLS, when set, makes the RPC and Raft port mutual TLS against the
	// cluster CA (the agent's tls { rpc = true } block, see tls.go); nil
	// leaves it plaintext and unauthenticated.
	TLS *clustertls.Bundle
}

// DefaultConfig returns the defaults, which follow Nomad's where Nomad has one.
func DefaultConfig() Config {
	return Config{
		NodeName:               "server",
		Region:                 structs.DefaultRegion,
		Datacenter:             "dc1",
		RPCAddr:                "127.0.0.1:4647",
		BootstrapExpect:        1,
		NumSchedulers:          runtime.NumCPU(),
		MinHeartbeatTTL:        structs.DefaultHeartbeatTTL,
		MaxHeartbeatsPerSecond: 50,
		HeartbeatGrace:         structs.DefaultHeartbeatGrace,
		FailoverHeartbeatTTL:   5 * time.Minute,
		RaftMultiplier:         1,
		AutopilotInterval:      time.Second,
		// Nomad's autopilot defaults.
		LastContactThreshold:    200 * time.Millisecond,
		ServerStabilizationTime: 10 * time.Second,
		DeadServerCleanup:       time.Minute,
		EvalNackTimeout:         60 * time.Second,
		EvalDeliveryLimit:       3,
		EvalNackInitialDelay:    time.Second,
		EvalNackSubsequentDelay: 20 * time.Second,
		EvalFailedFollowupWait:  time.Minute,
		AllocUpdateBatchWindow:  50 * time.Millisecond,
		GCInterval:              5 * time.Minute,
		EvalGCThreshold:         time.Hour,
		JobGCThreshold:          4 * time.Hour,
		NodeGCThreshold:         24 * time.Hour,
		DeploymentGCThreshold:   time.Hour,
		// Nomad's root_key_rotation_threshold and root_key_gc_threshold.
		RootKeyRotationThreshold: 30 * 24 * time.Hour,
		RootKeyGCThreshold:       time.Hour,
		RootKeyGCInterval:        10 * time.Minute,
		ConnectLeafTTL:           ca.DefaultConfig().LeafTTL,
		Version:                  "0.1.0",
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setDefault(&c.NodeName, d.NodeName)
	setDefault(&c.Region, d.Region)
	setDefault(&c.Datacenter, d.Datacenter)
	setDefault(&c.RPCAddr, d.RPCAddr)
	setDefault(&c.BootstrapExpect, d.BootstrapExpect)
	setDefault(&c.NumSchedulers, d.NumSchedulers)
	setDefault(&c.MinHeartbeatTTL, d.MinHeartbeatTTL)
	setDefault(&c.MaxHeartbeatsPerSecond, d.MaxHeartbeatsPerSecond)
	setDefault(&c.HeartbeatGrace, d.HeartbeatGrace)
	setDefault(&c.FailoverHeartbeatTTL, d.FailoverHeartbeatTTL)
	setDefault(&c.RaftMultiplier, d.RaftMultiplier)
	setDefault(&c.AutopilotInterval, d.AutopilotInterval)
	setDefault(&c.LastContactThreshold, d.LastContactThreshold)
	setDefault(&c.ServerStabilizationTime, d.ServerStabilizationTime)
	setDefault(&c.DeadServerCleanup, d.DeadServerCleanup)
	setDefault(&c.EvalNackTimeout, d.EvalNackTimeout)
	setDefault(&c.EvalDeliveryLimit, d.EvalDeliveryLimit)
	setDefault(&c.EvalFailedFollowupWait, d.EvalFailedFollowupWait)
	setDefault(&c.AllocUpdateBatchWindow, d.AllocUpdateBatchWindow)
	setDefault(&c.GCInterval, d.GCInterval)
	setDefault(&c.EvalGCThreshold, d.EvalGCThreshold)
	setDefault(&c.JobGCThreshold, d.JobGCThreshold)
	setDefault(&c.NodeGCThreshold, d.NodeGCThreshold)
	setDefault(&c.DeploymentGCThreshold, d.DeploymentGCThreshold)
	setDefault(&c.RootKeyRotationThreshold, d.RootKeyRotationThreshold)
	setDefault(&c.RootKeyGCThreshold, d.RootKeyGCThreshold)
	setDefault(&c.RootKeyGCInterval, d.RootKeyGCInterval)
	setDefault(&c.ConnectLeafTTL, d.ConnectLeafTTL)
	setDefault(&c.Version, d.Version)
	c = c.withSchedulerDefaults()
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&c.EvalNackInitialDelay, d.EvalNackInitialDelay)
	setDefault(&c.EvalNackSubsequentDelay, d.EvalNackSubsequentDelay)
	return c
}

func setDefault[T comparable](dst *T, def T) {
	var zero T
	if *dst == zero {
		*dst = def
	}
}

func (c Config) validate() error {
	var errs []error
	if c.BootstrapExpect < 1 {
		errs = append(errs, fmt.Errorf("bootstrap_expect must be at least 1, not %d", c.BootstrapExpect))
	}
	if c.RaftMultiplier < 1 || c.RaftMultiplier > 10 {
		errs = append(errs, fmt.Errorf("raft_multiplier must be between 1 and 10, not %d", c.RaftMultiplier))
	}
	if c.NumSchedulers < 0 {
		errs = append(errs, fmt.Errorf("num_schedulers must not be negative, not %d", c.NumSchedulers))
	}
	if c.MaxPlacementsPerEval < 0 {
		errs = append(errs, fmt.Errorf("max_placements_per_eval must not be negative, not %d", c.MaxPlacementsPerEval))
	}
	if len(c.Schedulers) == 0 {
		errs = append(errs, errors.New("no schedulers configured"))
	}
	// A leaf may not outlive a third of its intermediate (Consul's rule);
	// the floor only keeps a typo (1 instead of 1h) from making leaves that
	// expire while being delivered. Tests use seconds.
	if maxTTL := ca.DefaultConfig().IntermediateTTL / 3; c.ConnectLeafTTL < time.Second || c.ConnectLeafTTL > maxTTL {
		errs = append(errs, fmt.Errorf("connect_leaf_cert_ttl must be between 1s and %s, not %s", maxTTL, c.ConnectLeafTTL))
	}
	return errors.Join(errs...)
}
