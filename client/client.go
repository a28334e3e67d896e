package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/roam-sh/roam/client/allocrunner"
	"github.com/roam-sh/roam/client/network"
	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/executor"
	"github.com/roam-sh/roam/structs"
)

// ErrUnknownAlloc is returned for allocations this client does not run.
var ErrUnknownAlloc = errors.New("unknown allocation")

// finalFlushTimeout bounds the last update sent to the servers on shutdown.
const finalFlushTimeout = 5 * time.Second

// Client is a node agent. Build it with New, run it with Run, stop it with
// Shutdown (tasks keep running for the next client process).
type Client struct {
	cfg     Config
	logger  *slog.Logger
	db      *state.DB
	drivers *drivers.Registry
	updater *allocUpdater
	network *network.Manager
	hostEnv map[string]string
	connect *Connect

	nodeMu sync.RWMutex
	node   *structs.Node

	runnersMu sync.RWMutex
	runners   map[string]*allocrunner.AllocRunner
	// allocIndex is the AllocModifyIndex of the version each runner has.
	allocIndex map[string]uint64

	// lateDrivers delivers the first fingerprints of drivers that were too
	// slow for the node's first registration.
	lateDrivers <-chan driverResult

	gcCh         chan struct{} // ask the GC loop to run now
	registerCh   chan struct{} // ask the heartbeat loop to register again
	registered   chan struct{} // closed after the first registration
	registerOnce sync.Once
	heartbeatTTL time.Duration // guarded by nodeMu

	ctx          context.Context // ends when shutting down
	cancel       context.CancelFunc
	loops        sync.WaitGroup
	running      bool // guarded by runnersMu
	shutdownOnce sync.Once
	doneCh       chan struct{}
}

// New builds a client: opens its state, fingerprints the node and restores
// the allocations it was running. Nothing talks to the servers until Run.
func New(c *Config) (*Client, error) {
	cfg, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Executor.Path == "" {
		if cfg.Executor, err = executor.SelfBinary(); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{cfg.StateDir, cfg.AllocDir} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, fmt.Errorf("client dir: %w", err)
		}
	}
	logger := cfg.Logger.With("component", "client")
	db, err := state.Open(cfg.StateDir, cfg.Logger, state.OpenOptions{ResetCorrupt: cfg.ResetCorruptState})
	if err != nil {
		return nil, err
	}
	cl, err := newClient(cfg, logger, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return cl, nil
}

func newClient(cfg Config, logger *slog.Logger, db *state.DB) (*Client, error) {
	reg, err := buildDrivers(&cfg)
	if err != nil {
		return nil, err
	}
	id, secret, err := nodeIdentity(db)
	if err != nil {
		return nil, fmt.Errorf("node identity: %w", err)
	}
	nets := newNetworkManager(&cfg, db, acquireOwner(&cfg, id, logger))
	node, lateDrivers, err := buildNode(&cfg, id, secret, reg, nets, driverWait(db))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	cl := &Client{
		cfg: cfg, logger: logger.With("node_id", id), db: db, drivers: reg, node: node, network: nets,
		hostEnv: environMap(), runners: map[string]*allocrunner.AllocRunner{}, allocIndex: map[string]uint64{},
		registerCh: make(chan struct{}, 1), registered: make(chan struct{}), gcCh: make(chan struct{}, 1),
		ctx: ctx, cancel: cancel, doneCh: make(chan struct{}), lateDrivers: lateDrivers,
	}
	nets.SetCallbacks(network.Callbacks{DriverNamespace: cl.driverNamespace, Moved: cl.networkMoved})
	if cl.connect, err = newConnect(cl); err != nil {
		cancel()
		return nil, err
	}
	cl.updater = newAllocUpdater(cfg.RPC, cfg.Region, node.SecretID, cfg.UpdateInterval, cl.logger)
	if err := cl.restoreAllocs(); err != nil {
		cancel()
		return nil, err
	}
	// Networks of allocations that were not restored go now; restored ones
	// are repaired by their runner's network hook when it runs again.
	nets.RemoveOrphans(ctx, cl.allKnownAllocs())
	cl.logger.Info("client ready", "name", node.Name, "class", node.ComputedClass, "allocs", len(cl.runners))
	return cl, nil
}

// driverWait is how long the first fingerprint waits for slow drivers: not
// at all past firstFingerprintWait on a fresh start, but for every driver
// when allocations are restored, so that the node never registers without
// a driver its running allocations use.
func driverWait(db *state.DB) time.Duration {
	if allocs, bad, err := db.Allocations(); err == nil && len(allocs)+len(bad) == 0 {
		return firstFingerprintWait
	}
	return restoredFingerprintWait
}

// restoredFingerprintWait bounds the wait for drivers of a client that has
// allocations to restore (a Docker daemon that does not answer: the
// fingerprint's own timeouts end sooner).
const restoredFingerprintWait = 2 * time.Minute

func environMap() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// Run starts the restored allocations and the loops that talk to the
// servers, and blocks until ctx ends or Shutdown is called. Tasks are left
// running either way.
func (c *Client) Run(ctx context.Context) error {
	c.refreshNetworkFingerprint()
	c.runnersMu.Lock()
	c.running = true
	for _, ar := range c.runners {
		go ar.Run()
	}
	c.runnersMu.Unlock()
	c.goLoop(c.updater.run)
	c.goLoop(c.registerAndHeartbeat)
	c.goLoop(c.watchAllocations)
	c.goLoop(c.awaitLateDrivers)
	c.goLoop(c.awaitCNIVersions)
	c.goLoop(c.refreshDrivers)
	c.goLoop(c.runGC)
	c.goLoop(c.repairLoop)
	c.goLoop(c.connect.CA.Run)
	c.goLoop(c.connect.Intentions.Run)
	select {
	case <-ctx.Done():
	case <-c.ctx.Done():
	}
	c.stop()
	return nil
}

func (c *Client) goLoop(f func(ctx context.Context)) {
	c.loops.Add(1)
	go func() {
		defer c.loops.Done()
		f(c.ctx)
	}()
}

// Shutdown stops the client and waits until it has stopped. The allocations'
// tasks keep running; a new client with the same state dir re-attaches.
func (c *Client) Shutdown() {
	c.runnersMu.RLock()
	running := c.running
	c.runnersMu.RUnlock()
	if running {
		c.cancel()
		<-c.doneCh
		return
	}
	c.stop()
}

// stop shuts everything down once.
func (c *Client) stop() {
	c.shutdownOnce.Do(func() {
		defer close(c.doneCh)
		c.cancel()
		c.loops.Wait()
		var wg sync.WaitGroup
		for _, ar := range c.allocRunners() {
			wg.Go(ar.Shutdown)
		}
		wg.Wait()
		c.updater.flushFinal(finalFlushTimeout)
		// Tasks keep running across a restart, and so do their networks;
		// a client whose state goes with it takes its bridge along.
		if err := c.network.Close(c.cfg.Ephemeral); err != nil {
			c.logger.Error("closing networks", "error", err)
		}
		for _, d := range c.drivers.All() {
			if s, ok := d.(drivers.Shutdowner); ok {
				s.Shutdown()
			}
		}
		if err := c.db.Close(); err != nil {
			c.logger.Error("closing state", "error", err)
		}
		c.logger.Info("client stopped")
	})
}

// NodeID is the node's persistent ID.
func (c *Client) NodeID() string {
	c.nodeMu.RLock()
	defer c.nodeMu.RUnlock()
	return c.node.ID
}

// Node returns a copy of the node as last fingerprinted.
func (c *Client) Node() *structs.Node {
	c.nodeMu.RLock()
	defer c.nodeMu.RUnlock()
	return c.node.Copy()
}

// AllocRoot is the directory holding the allocations' directories.
func (c *Client) AllocRoot() string { return c.cfg.AllocDir }

// GetAllocRunner returns the runner of an allocation this client runs.
func (c *Client) GetAllocRunner(allocID string) (*allocrunner.AllocRunner, error) {
	c.runnersMu.RLock()
	defer c.runnersMu.RUnlock()
	if ar, ok := c.runners[allocID]; ok {
		return ar, nil
	}
	return nil, fmt.Errorf("alloc %s: %w", allocID, ErrUnknownAlloc)
}

// AllocRunners returns every alloc runner.
func (c *Client) AllocRunners() []*allocrunner.AllocRunner { return c.allocRunners() }

func (c *Client) allocRunners() []*allocrunner.AllocRunner {
	c.runnersMu.RLock()
	defer c.runnersMu.RUnlock()
	out := make([]*allocrunner.AllocRunner, 0, len(c.runners))
	for _, ar := range c.runners {
		out = append(out, ar)
	}
	return out
}

// newAllocRunner builds a runner for alloc (restored may be nil).
func (c *Client) newAllocRunner(alloc *structs.Allocation, restored map[string]allocrunner.RestoredTask) (*allocrunner.AllocRunner, error) {
	return allocrunner.New(allocrunner.Config{
		Alloc: alloc, AllocDirRoot: c.cfg.AllocDir, Drivers: c.drivers, Node: c.Node(),
		Region: c.cfg.Region, HostEnv: c.hostEnv, EnvDenylist: c.cfg.EnvDenylist,
		MaxKillTimeout: c.cfg.MaxKillTimeout, Artifacts: c.cfg.Artifacts, Templates: c.cfg.Templates, StateDB: c.db, StateUpdater: c.updater,
		Networks: c.network, DNS: c.cfg.DNS, Services: serviceCatalog{c}, Restored: restored, Logger: c.cfg.Logger,
	})
}
