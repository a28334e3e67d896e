package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/roam-sh/roam/client/allocrunner"
	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/structs"
)

// Config is the client's network configuration (client.Config's fields of
// the same names, documented in docs/networking.md).
type Config struct {
	DisableBridge                       bool
	BridgeName, BridgeSubnet            string
	BridgeHairpin                       bool
	BridgeChainPrefix, BridgeVethPrefix string
	BridgeFirewall                      string
	CNIPath, CNIConfigDir               string
	CNIInterfacePrefix                  string
	// Owner records which allocations' namespaces, veths and rules this
	// client makes, so that what a crashed client leaves is found; nil
	// records nothing (not root, or tests of the modes alone).
	Owner *netns.Owner
	// OwnersDir is where the other clients' records are: leftovers of
	// stopped clients that nothing can re-attach to are removed at start.
	OwnersDir string
	Logger    *slog.Logger
}

// Callbacks are how the manager reaches the client's drivers and runners.
// The client sets them once, before the first repair: they need the
// client, which is built after the manager.
type Callbacks struct {
	// DriverNamespace asks the driver that holds an allocation's
	// namespace where it is now: docker's pause container comes back from
	// a daemon restart with a new one, unconfigured.
	DriverNamespace func(rec *state.NetworkRecord) (string, error)
	// Moved is told, outside the lock, about each allocation a repair
	// moved into a new namespace (a driver's, or ours made again after it
	// was deleted): tasks that were in the old one are still there.
	Moved func(allocID string, res *allocrunner.NetworkResult)
}

// Manager owns the group networks of this client's allocations (the
// package doc says what it does). Its methods are safe for concurrent use.
type Manager struct {
	db        *state.DB
	modes     modeList
	bridgeErr error
	logger    *slog.Logger
	cb        Callbacks

	owner     *netns.Owner
	ownersDir string
	bridge    *netns.Bridge // nil when bridge mode is unavailable

	mu sync.Mutex // serialises Setup, Teardown and repairs

	versionsOnce sync.Once
	versionsMu   sync.Mutex
	versions     map[string]string
	versionsRead chan struct{} // closed once versions are in
}

var _ allocrunner.Networks = (*Manager)(nil)

// New builds the manager with the built-in modes. It probes the kernel
// and creates the bridge now, so that a host that cannot bridge is known
// before any job asks for it.
func New(cfg Config, db *state.DB) *Manager {
	logger := cfg.Logger.With("component", "network")
	// Before the bridge is made: a stopped client's stale rules would
	// shadow this one's (a DNAT rule of its port first in the chain), and
	// its bridge may be the one this client is about to take.
	removeLeftovers(cfg.OwnersDir, logger)
	d := deps{db: db, cni: netns.NewCNI(cfg.CNIPath, cfg.CNIConfigDir, cfg.CNIInterfacePrefix, cfg.Logger)}
	d.bridge, d.bridgeErr = startBridge(cfg, db)
	if d.bridgeErr != nil {
		logger.Warn("bridge network mode disabled", "reason", d.bridgeErr)
	}
	m := newManager(db, builtinModes(d), logger)
	m.bridgeErr = d.bridgeErr
	m.owner, m.ownersDir, m.bridge = cfg.Owner, cfg.OwnersDir, d.bridge
	return m
}

// removeLeftovers removes what stopped clients that nothing can re-attach
// to left on the host (netns.RemoveLeftover); the others' stay for their
// next start. Running clients' records are never touched.
func removeLeftovers(dir string, logger *slog.Logger) {
	if dir == "" {
		return
	}
	live, left, err := netns.Owners(dir)
	if err != nil {
		logger.Warn("reading other clients' ownership records", "dir", dir, "error", err)
		return
	}
	for _, l := range left {
		if !l.Removable() {
			// Claims of networks that are gone entirely go; the rest
			// wait for that client's next start.
			if err := netns.PruneLeftover(dir, l); err != nil {
				logger.Warn("pruning a stopped client's record", "owner", l.Info.ID, "error", err)
			}
			continue
		}
		if err := netns.RemoveLeftover(dir, l, live); err != nil {
			logger.Warn("removing what a stopped client left", "owner", l.Info.ID, "error", err)
			continue
		}
		logger.Info("removed what a stopped -dev client left", "owner", l.Info.ID, "pid", l.Info.PID, "allocs", len(l.Allocs), "bridge", l.Info.Bridge)
	}
}

// Close ends the manager's ownership record: the record goes when no
// network is left (else it stays, for the next start to re-attach or, when
// nothing can, to remove). With removeBridge (a client whose state goes
// with it) the bridge goes too, unless another running client uses a
// bridge of that name.
func (m *Manager) Close(removeBridge bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	if removeBridge && m.bridge != nil && !m.bridgeShared() {
		errs = append(errs, m.bridge.Destroy())
	}
	if m.owner != nil {
		recs, err := m.db.Networks()
		errs = append(errs, err, m.owner.Close(err == nil && len(recs) == 0))
	}
	return errors.Join(errs...)
}

// bridgeShared reports whether another running client has a bridge of
// this one's name.
func (m *Manager) bridgeShared() bool {
	live, _, err := netns.Owners(m.ownersDir)
	if err != nil {
		return true // unknown: leave it
	}
	for _, o := range live {
		if o.Bridge == m.bridge.Name() && (m.owner == nil || o.ID != m.owner.Info().ID) {
			return true
		}
	}
	return false
}

// newManager builds a manager over modes, in their order.
func newManager(db *state.DB, modes []Mode, logger *slog.Logger) *Manager {
	return &Manager{db: db, modes: modes, logger: logger, versionsRead: make(chan struct{})}
}

func startBridge(cfg Config, db *state.DB) (*netns.Bridge, error) {
	if cfg.DisableBridge {
		return nil, errors.New("disabled in the client configuration")
	}
	if p := netns.Probe(cfg.BridgeFirewall); p.Err() != nil {
		return nil, p.Err()
	}
	subnet, err := netip.ParsePrefix(cfg.BridgeSubnet)
	if err != nil {
		return nil, fmt.Errorf("bridge_network_subnet %q: %w", cfg.BridgeSubnet, err)
	}
	br, err := netns.NewBridge(netns.BridgeConfig{
		Name: cfg.BridgeName, Subnet: subnet, Hairpin: cfg.BridgeHairpin,
		ChainPrefix: cfg.BridgeChainPrefix, VethPrefix: cfg.BridgeVethPrefix, Firewall: cfg.BridgeFirewall,
	}, db, cfg.Logger)
	if err != nil {
		return nil, err
	}
	if err := br.Init(); err != nil {
		return nil, fmt.Errorf("create bridge %s: %w", cfg.BridgeName, err)
	}
	return br, nil
}

// SetCallbacks sets the client's callbacks (Callbacks says when).
func (m *Manager) SetCallbacks(cb Callbacks) { m.cb = cb }

// BridgeErr says why bridge mode is unavailable, or nil.
func (m *Manager) BridgeErr() error { return m.bridgeErr }

// PluginVersions returns the CNI plugins' versions, nil until they are
// read. The first call starts reading them in the background: each plugin
// is a process to run, too slow for a starting client to wait for (the
// node registers without them and again once VersionsRead is closed).
func (m *Manager) PluginVersions(path string) map[string]string {
	if m == nil {
		return nil
	}
	m.versionsOnce.Do(func() {
		go func() {
			v := netns.PluginVersions(path)
			m.versionsMu.Lock()
			m.versions = v
			m.versionsMu.Unlock()
			close(m.versionsRead)
		}()
	})
	m.versionsMu.Lock()
	defer m.versionsMu.Unlock()
	return m.versions
}

// VersionsRead is closed once PluginVersions has the versions.
func (m *Manager) VersionsRead() <-chan struct{} { return m.versionsRead }

// Setup creates or repairs an allocation's network.
func (m *Manager) Setup(ctx context.Context, req *allocrunner.NetworkRequest) (*allocrunner.NetworkResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, err := record(req)
	if err != nil {
		return nil, err
	}
	mode, err := m.modes.lookup(structs.NetworkMode(rec.Mode))
	if err != nil {
		return nil, fmt.Errorf("alloc %s: %w", rec.AllocID, err)
	}
	if _, ok := mode.(InHostNamespace); ok {
		st, err := mode.Setup(ctx, rec)
		return &allocrunner.NetworkResult{Status: st}, err
	}
	recs, err := m.db.Networks()
	if err != nil {
		return nil, err
	}
	prev, existed := recs[rec.AllocID]
	if !existed {
		if err := checkHostPortsFree(rec); err != nil {
			return nil, err
		}
	}
	if existed && prev.NSPath == rec.NSPath {
		// Still the namespace last configured, until configure says
		// otherwise: the tasks of an earlier run are in that one.
		rec.NSIdentity = prev.NSIdentity
	}
	// Recorded before anything is made, so a crash half-way leaves enough
	// for the next start to clean up: this client's, or another's when
	// nothing can re-attach (the claim).
	if m.owner != nil {
		if err := m.owner.Claim(rec.AllocID); err != nil {
			return nil, err
		}
	}
	if err := m.db.PutNetwork(rec); err != nil {
		return nil, err
	}
	if st, ok := m.restore(ctx, mode, rec, existed); ok {
		return &allocrunner.NetworkResult{NSPath: rec.NSPath, Status: st}, nil
	}
	st, replaced, err := m.configure(ctx, rec, func(bool) (*structs.AllocNetworkStatus, error) { return mode.Setup(ctx, rec) })
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", rec.Mode, err)
	}
	// A namespace of ours missing from an earlier run's record, or another
	// one at its path, went with a host reboot or a hand: tasks still
	// running from that run are in the old one, cut off.
	return &allocrunner.NetworkResult{NSPath: rec.NSPath, Status: st, Restored: existed, Fresh: existed && replaced}, nil
}

// restore re-attaches to the network of an earlier client process when
// the mode can (Restorer).
func (m *Manager) restore(ctx context.Context, mode Mode, rec *state.NetworkRecord, existed bool) (*structs.AllocNetworkStatus, bool) {
	r, ok := mode.(Restorer)
	if !existed || !ok {
		return nil, false
	}
	st, err := r.Restore(ctx, rec)
	if err != nil {
		m.logger.Warn("network failed its check; setting it up again", "alloc_id", rec.AllocID, "mode", rec.Mode, "error", err)
		return nil, false
	}
	return st, true
}

// configure creates the namespace when it is the client's, runs fn (the
// mode's Setup or Repair) in it and records the identity of the namespace
// configured. fn and the caller are told whether that namespace is
// another than the one last configured (nsReplaced), decided once the
// namespace is there and not before: one deleted while a repair round
// checked it, which that round then makes again here, still strands the
// tasks in the deleted one.
func (m *Manager) configure(ctx context.Context, rec *state.NetworkRecord, fn func(replaced bool) (*structs.AllocNetworkStatus, error)) (*structs.AllocNetworkStatus, bool, error) {
	replaced := false
	if rec.OwnedNS {
		created, err := netns.Create(rec.NSPath)
		if err != nil {
			return nil, false, err
		}
		replaced = created || nsReplaced(rec)
	}
	// Taken before fn runs: a namespace replaced while fn configures it
	// then differs from the one recorded, and the next round sees it.
	id := netns.Identity(rec.NSPath)
	st, err := fn(replaced)
	if err != nil {
		return nil, false, err
	}
	rec.NSIdentity = id
	if err := m.db.PutNetwork(rec); err != nil {
		m.logger.Warn("recording the namespace's identity", "alloc_id", rec.AllocID, "error", err)
	}
	return st, replaced, nil
}

// nsReplaced reports whether the namespace recorded for an allocation is
// gone or is not the one its last set-up configured.
func nsReplaced(rec *state.NetworkRecord) bool {
	id := netns.Identity(rec.NSPath)
	return id == 0 || (rec.NSIdentity != 0 && id != rec.NSIdentity)
}

// Teardown removes an allocation's network and its records.
func (m *Manager) Teardown(ctx context.Context, allocID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	recs, err := m.db.Networks()
	if err != nil {
		return err
	}
	rec, ok := recs[allocID]
	if !ok {
		// Never set up, or already torn down; a lease without a record
		// (a crash between the two) still goes.
		return m.release(ctx, allocID)
	}
	return m.teardown(ctx, rec)
}

func (m *Manager) teardown(ctx context.Context, rec *state.NetworkRecord) error {
	var errs []error
	if mode, err := m.modes.lookup(structs.NetworkMode(rec.Mode)); err != nil {
		m.logger.Warn("tearing down a network of a mode this client lacks; removing only its namespace", "alloc_id", rec.AllocID, "error", err)
	} else {
		errs = append(errs, mode.Teardown(ctx, rec))
	}
	if rec.OwnedNS {
		errs = append(errs, netns.Delete(rec.NSPath))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("alloc %s: network teardown: %w", rec.AllocID, err)
	}
	m.logger.Info("network torn down", "alloc_id", rec.AllocID, "mode", rec.Mode)
	if err := m.db.DeleteNetwork(rec.AllocID); err != nil {
		return err
	}
	if m.owner != nil {
		return m.owner.Unclaim(rec.AllocID)
	}
	return nil
}

// release frees what every LeaseHolder mode holds for the allocation.
func (m *Manager) release(ctx context.Context, allocID string) error {
	var errs []error
	for _, mode := range m.modes {
		if lh, ok := mode.(LeaseHolder); ok {
			errs = append(errs, lh.Release(ctx, allocID))
		}
	}
	return errors.Join(errs...)
}

// RemoveOrphans tears down the recorded networks (and leases) of
// allocations that are not in live: what a client that crashed after an
// allocation was removed, but before its network was, left behind.
func (m *Manager) RemoveOrphans(ctx context.Context, live map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	recs, err := m.db.Networks()
	if err != nil {
		m.logger.Error("reading network records", "error", err)
		return
	}
	for id, rec := range recs {
		if !live[id] {
			m.logger.Info("removing the network of an allocation this client no longer runs", "alloc_id", id)
			if err := m.teardown(ctx, rec); err != nil {
				m.logger.Error("removing orphaned network", "alloc_id", id, "error", err)
			}
		}
	}
	for _, mode := range m.modes {
		if lh, ok := mode.(LeaseHolder); ok {
			m.releaseOrphanLeases(ctx, lh, recs, live)
		}
	}
}

func (m *Manager) releaseOrphanLeases(ctx context.Context, lh LeaseHolder, recs map[string]*state.NetworkRecord, live map[string]bool) {
	ids, err := lh.Holders()
	if err != nil {
		m.logger.Error("reading leases", "error", err)
		return
	}
	for _, id := range ids {
		if _, rec := recs[id]; !live[id] && !rec {
			if err := lh.Release(ctx, id); err != nil {
				m.logger.Error("releasing orphaned lease", "alloc_id", id, "error", err)
			}
		}
	}
}
