package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/roam-sh/roam/client/allocrunner"
	"github.com/roam-sh/roam/client/fingerprint"
	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/structs"
)

// networkManager owns the group networks of this client's allocations: it
// creates namespaces, runs the configurator of each mode, records what it
// did in the state DB (leases and one record per allocation), repairs live
// networks at start and every NetworkRepairInterval, and removes the
// networks of allocations the client no longer runs.
//
//	mode        namespace                     configurator
//	bridge      /var/run/netns/<alloc>        netns.Bridge (veth, lease, rules)
//	cni/<name>  /var/run/netns/<alloc>        netns.CNI (libcni ADD/CHECK/DEL)
//	none        /var/run/netns/<alloc>        none: loopback only
//
// A driver that must own the namespace (docker) creates it instead; the
// manager then only configures it and never deletes it.
type networkManager struct {
	db     *state.DB
	bridge *netns.Bridge // nil when bridge mode is unavailable
	// bridgeErr says why bridge mode is unavailable.
	bridgeErr error
	cni       *netns.CNI
	logger    *slog.Logger

	// driverNamespace asks the driver that holds an allocation's namespace
	// where it is now: docker's pause container comes back from a daemon
	// restart with a new one, unconfigured.
	driverNamespace func(rec *state.NetworkRecord) (string, error)
	// moved is told, outside the lock, about each allocation a repair
	// moved into a new namespace (a driver's, or ours made again after it
	// was deleted): tasks that were in the old one are still there.
	moved func(allocID string, res *allocrunner.NetworkResult)

	mu sync.Mutex // serialises Setup, Teardown and repairs

	versionsOnce sync.Once
	versions     map[string]string
}

func newNetworkManager(cfg *Config, db *state.DB) *networkManager {
	m := &networkManager{db: db, logger: cfg.Logger.With("component", "network")}
	m.cni = netns.NewCNI(cfg.CNIPath, cfg.CNIConfigDir, cfg.CNIInterfacePrefix, cfg.Logger)
	m.bridge, m.bridgeErr = startBridge(cfg, db, cfg.Logger)
	if m.bridgeErr != nil {
		m.logger.Warn("bridge network mode disabled", "reason", m.bridgeErr)
	}
	return m
}

// startBridge probes the kernel for real and creates the bridge now, so
// that a host that cannot bridge is known before any job asks for it.
func startBridge(cfg *Config, db *state.DB, logger *slog.Logger) (*netns.Bridge, error) {
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
	}, db, logger)
	if err != nil {
		return nil, err
	}
	if err := br.Init(); err != nil {
		return nil, fmt.Errorf("create bridge %s: %w", cfg.BridgeName, err)
	}
	return br, nil
}

var _ allocrunner.Networks = (*networkManager)(nil)

// Setup creates or repairs an allocation's network.
func (m *networkManager) Setup(ctx context.Context, req *allocrunner.NetworkRequest) (*allocrunner.NetworkResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, err := m.record(req)
	if err != nil {
		return nil, err
	}
	recs, err := m.db.Networks()
	if err != nil {
		return nil, err
	}
	_, existed := recs[rec.AllocID]
	if !existed {
		if err := checkHostPortsFree(rec); err != nil {
			return nil, err
		}
	}
	// Recorded before anything is made, so a crash half-way leaves enough
	// for the next start to clean up.
	if err := m.db.PutNetwork(rec); err != nil {
		return nil, err
	}
	if existed && structs.NetworkMode(rec.Mode).IsCNI() {
		if st, err := m.restoreCNI(ctx, rec); err == nil {
			return &allocrunner.NetworkResult{NSPath: rec.NSPath, Status: st}, nil
		}
	}
	// A namespace of ours missing from an earlier run's record, or another
	// one at its path, went with a host reboot or a hand: tasks still
	// running from that run are in the old one, cut off.
	fresh := existed && rec.OwnedNS && m.nsReplaced(recs[rec.AllocID])
	st, err := m.setup(ctx, rec)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", rec.Mode, err)
	}
	m.recordIdentity(rec)
	return &allocrunner.NetworkResult{NSPath: rec.NSPath, Status: st, Restored: existed, Fresh: fresh}, nil
}

// nsReplaced reports whether the namespace recorded for an allocation is
// gone or is not the one its last set-up configured.
func (m *networkManager) nsReplaced(rec *state.NetworkRecord) bool {
	id := netns.Identity(rec.NSPath)
	return id == 0 || (rec.NSIdentity != 0 && id != rec.NSIdentity)
}

// recordIdentity stores the identity of the namespace just configured.
func (m *networkManager) recordIdentity(rec *state.NetworkRecord) {
	rec.NSIdentity = netns.Identity(rec.NSPath)
	if err := m.db.PutNetwork(rec); err != nil {
		m.logger.Warn("recording the namespace's identity", "alloc_id", rec.AllocID, "error", err)
	}
}

// record builds the allocation's network record from the allocation.
func (m *networkManager) record(req *allocrunner.NetworkRequest) (*state.NetworkRecord, error) {
	a := req.Alloc
	tg := a.LookupTaskGroup()
	if tg == nil {
		return nil, fmt.Errorf("alloc %s: no task group %q", a.ID, a.TaskGroup)
	}
	mode := tg.NetworkMode()
	rec := &state.NetworkRecord{AllocID: a.ID, Mode: string(mode), NSPath: req.NSPath, Driver: req.Driver}
	if len(tg.Networks) > 0 {
		rec.Hostname = tg.Networks[0].Hostname
	}
	if rec.NSPath == "" {
		rec.NSPath, rec.OwnedNS = netns.NamedPath(a.ID), true
	}
	rec.Ports = portRecords(a, tg)
	if len(tg.Networks) > 0 && tg.Networks[0].CNI != nil {
		rec.Args = maps.Clone(tg.Networks[0].CNI.Args)
	}
	rec.Args = cniArgs(a, rec.Args)
	return rec, nil
}

// portRecords lists the allocation's mapped ports; ports of the default
// host network are also mapped on the bridge gateway, the host address
// allocations reach each other's ports at.
func portRecords(a *structs.Allocation, tg *structs.TaskGroup) []state.PortRecord {
	if a.AllocatedResources == nil {
		return nil
	}
	hostNet := map[string]string{}
	for _, n := range tg.Networks {
		for _, p := range append(slices.Clone(n.ReservedPorts), n.DynamicPorts...) {
			hostNet[p.Label] = p.HostNetwork
		}
	}
	var out []state.PortRecord
	for _, p := range a.AllocatedResources.Shared.Ports {
		hn := hostNet[p.Label]
		out = append(out, state.PortRecord{
			Label: p.Label, HostIP: p.HostIP, HostPort: p.Value, ContainerPort: p.ToPort(),
			Gateway: hn == "" || hn == structs.DefaultHostNetwork,
		})
	}
	return out
}

// cniArgs adds the allocation's identity to the user's CNI_ARGS.
func cniArgs(a *structs.Allocation, user map[string]string) map[string]string {
	out := maps.Clone(user)
	if out == nil {
		out = map[string]string{}
	}
	out["NOMAD_NAMESPACE"] = a.Namespace
	out["NOMAD_JOB_ID"] = a.JobID
	out["NOMAD_GROUP_NAME"] = a.TaskGroup
	out["NOMAD_ALLOC_ID"] = a.ID
	return out
}

func request(rec *state.NetworkRecord) *netns.Request {
	req := &netns.Request{AllocID: rec.AllocID, NSPath: rec.NSPath, Args: rec.Args}
	for _, p := range rec.Ports {
		req.Ports = append(req.Ports, netns.PortMapping{
			Label: p.Label, HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Gateway: p.Gateway,
		})
	}
	return req
}

func (m *networkManager) setup(ctx context.Context, rec *state.NetworkRecord) (*structs.AllocNetworkStatus, error) {
	if rec.OwnedNS {
		if _, err := netns.Create(rec.NSPath); err != nil {
			return nil, err
		}
	}
	mode := structs.NetworkMode(rec.Mode)
	var st *netns.Status
	var err error
	switch {
	case mode == structs.NetworkModeNone:
		return &structs.AllocNetworkStatus{}, netns.SetLoopbackUp(rec.NSPath)
	case mode == structs.NetworkModeBridge:
		if m.bridge == nil {
			return nil, fmt.Errorf("bridge networking is unavailable on this node: %w", m.bridgeErr)
		}
		st, err = m.bridge.Setup(ctx, request(rec))
	case mode.IsCNI():
		st, err = m.cni.Setup(ctx, mode.CNIName(), request(rec))
	default:
		return nil, fmt.Errorf("unsupported network mode %q", mode)
	}
	if err != nil {
		return nil, err
	}
	return allocStatus(st), nil
}

// allocStatus is what the servers and the tasks learn of a configured
// network: its interface, address and the DNS settings a CNI result gave.
func allocStatus(st *netns.Status) *structs.AllocNetworkStatus {
	out := &structs.AllocNetworkStatus{InterfaceName: st.InterfaceName, Address: st.Address.String()}
	if len(st.DNSServers)+len(st.DNSSearches)+len(st.DNSOptions) > 0 {
		out.DNS = &structs.DNSConfig{Servers: st.DNSServers, Searches: st.DNSSearches, Options: st.DNSOptions}
	}
	return out
}

// restoreCNI re-attaches to a CNI network set up by an earlier client
// process: CHECK and the cached result, or DEL so that ADD starts afresh
// (ADD twice would leak the first address in host-local).
func (m *networkManager) restoreCNI(ctx context.Context, rec *state.NetworkRecord) (*structs.AllocNetworkStatus, error) {
	mode := structs.NetworkMode(rec.Mode)
	st, err := m.cni.Restore(ctx, mode.CNIName(), request(rec))
	if err != nil {
		m.logger.Warn("CNI network failed its check; setting it up again", "alloc_id", rec.AllocID, "error", err)
		if derr := m.cni.Teardown(ctx, mode.CNIName(), request(rec)); derr != nil {
			m.logger.Warn("CNI DEL before re-adding", "alloc_id", rec.AllocID, "error", derr)
		}
		return nil, err
	}
	return allocStatus(st), nil
}

// checkHostPortsFree refuses ports that a socket outside roam already holds
// on the host: a DNAT rule would hide it, or (host mode) the task could not
// bind. Only checked when the network is first set up: after a restart the
// allocation's own tasks hold their ports.
func checkHostPortsFree(rec *state.NetworkRecord) error {
	socks := fingerprint.ListeningSockets()
	for _, p := range rec.Ports {
		for _, s := range socks {
			if s.Port == p.HostPort && (s.Addr.IsUnspecified() || s.Addr.String() == p.HostIP || p.HostIP == "") {
				return fmt.Errorf("port collision: %s=%d is already bound on the host (%s) by a process outside roam", p.Label, p.HostPort, s.Addr)
			}
		}
	}
	return nil
}

// Teardown removes an allocation's network and its records.
func (m *networkManager) Teardown(ctx context.Context, allocID string) error {
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
		return m.releaseBridge(ctx, allocID)
	}
	return m.teardown(ctx, rec)
}

func (m *networkManager) teardown(ctx context.Context, rec *state.NetworkRecord) error {
	var errs []error
	mode := structs.NetworkMode(rec.Mode)
	switch {
	case mode == structs.NetworkModeBridge:
		errs = append(errs, m.releaseBridge(ctx, rec.AllocID))
	case mode.IsCNI():
		if netns.IsNamespace(rec.NSPath) || !rec.OwnedNS {
			errs = append(errs, m.cni.Teardown(ctx, mode.CNIName(), request(rec)))
		}
	}
	if rec.OwnedNS {
		errs = append(errs, netns.Delete(rec.NSPath))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("alloc %s: network teardown: %w", rec.AllocID, err)
	}
	m.logger.Info("network torn down", "alloc_id", rec.AllocID, "mode", rec.Mode)
	return m.db.DeleteNetwork(rec.AllocID)
}

func (m *networkManager) releaseBridge(ctx context.Context, allocID string) error {
	if m.bridge != nil {
		return m.bridge.Teardown(ctx, allocID)
	}
	return m.db.DeleteLease(allocID)
}

// removeOrphans tears down the recorded networks (and bridge leases) of
// allocations that are not in live: what a client that crashed after an
// allocation was removed, but before its network was, left behind.
func (m *networkManager) removeOrphans(ctx context.Context, live map[string]bool) {
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
	leases, _ := m.db.Leases()
	for id := range leases {
		if _, rec := recs[id]; !live[id] && !rec {
			if err := m.releaseBridge(ctx, id); err != nil {
				m.logger.Error("releasing orphaned lease", "alloc_id", id, "error", err)
			}
		}
	}
}

// repair checks every recorded network of a live allocation and sets up
// again what is missing. Allocations whose network is being set up or torn
// down are skipped by holding the manager's lock.
func (m *networkManager) repair(ctx context.Context, live map[string]bool) {
	for id, res := range m.repairLocked(ctx, live) {
		if m.moved != nil {
			m.moved(id, res)
		}
	}
}

// repairLocked repairs under the lock and returns the allocations moved
// into a new namespace.
func (m *networkManager) repairLocked(ctx context.Context, live map[string]bool) map[string]*allocrunner.NetworkResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	recs, err := m.db.Networks()
	if err != nil {
		m.logger.Error("reading network records", "error", err)
		return nil
	}
	if m.bridge != nil {
		if err := m.bridge.Init(); err != nil {
			m.logger.Error("repairing the bridge", "error", err)
		}
	}
	moved := map[string]*allocrunner.NetworkResult{}
	for id, rec := range recs {
		if !live[id] {
			continue
		}
		// Another namespace than the one last configured (deleted and made
		// again, maybe by a round that then failed) strands the tasks in
		// the old one, whatever this round finds.
		replaced := m.followDriver(rec) || (rec.OwnedNS && m.nsReplaced(rec))
		problems := m.check(ctx, rec)
		if replaced {
			problems = append(problems, "namespace replaced")
		}
		if len(problems) == 0 {
			continue
		}
		m.logger.Warn("repairing allocation network", "alloc_id", id, "mode", rec.Mode, "problems", problems)
		if mode := structs.NetworkMode(rec.Mode); mode.IsCNI() && !replaced {
			_ = m.cni.Teardown(ctx, mode.CNIName(), request(rec))
		}
		st, err := m.setup(ctx, rec)
		if err != nil {
			m.logger.Error("repairing allocation network", "alloc_id", id, "error", err)
			continue
		}
		m.recordIdentity(rec)
		if replaced {
			moved[id] = &allocrunner.NetworkResult{NSPath: rec.NSPath, Status: st}
		}
	}
	return moved
}

// followDriver points a driver-held namespace's record at where the
// driver holds it now; it reports whether that changed.
func (m *networkManager) followDriver(rec *state.NetworkRecord) bool {
	if rec.OwnedNS || m.driverNamespace == nil {
		return false
	}
	path, err := m.driverNamespace(rec)
	if err != nil {
		m.logger.Warn("asking the driver for the allocation's namespace", "alloc_id", rec.AllocID, "driver", rec.Driver, "error", err)
		return false
	}
	if path == "" || path == rec.NSPath {
		return false
	}
	m.logger.Info("driver namespace replaced", "alloc_id", rec.AllocID, "driver", rec.Driver, "old", rec.NSPath, "new", path)
	rec.NSPath = path
	if err := m.db.PutNetwork(rec); err != nil {
		m.logger.Error("recording the new namespace", "alloc_id", rec.AllocID, "error", err)
	}
	return true
}

func (m *networkManager) check(ctx context.Context, rec *state.NetworkRecord) []string {
	if !netns.IsNamespace(rec.NSPath) {
		if !rec.OwnedNS {
			return nil // the driver's to repair
		}
		return []string{"namespace " + rec.NSPath + " missing"}
	}
	mode := structs.NetworkMode(rec.Mode)
	switch {
	case mode == structs.NetworkModeBridge && m.bridge != nil:
		return m.bridge.Check(request(rec))
	case mode.IsCNI():
		if err := m.cni.Check(ctx, mode.CNIName(), request(rec)); err != nil {
			return []string{err.Error()}
		}
	}
	return nil
}

// repairLoop runs repair every interval until ctx ends.
func (c *Client) repairLoop(ctx context.Context) {
	t := time.NewTicker(c.cfg.NetworkRepairInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.network.repair(ctx, c.liveAllocs())
	}
}

// liveAllocs are the allocations whose networks must stay: every runner
// whose tasks are not all dead.
func (c *Client) liveAllocs() map[string]bool {
	out := map[string]bool{}
	for _, ar := range c.allocRunners() {
		if !ar.Alloc().ClientStatus.Terminal() {
			out[ar.ID()] = true
		}
	}
	return out
}

// allKnownAllocs are the allocations the client has a runner for.
func (c *Client) allKnownAllocs() map[string]bool {
	out := map[string]bool{}
	for _, id := range c.knownAllocs() {
		out[id] = true
	}
	return out
}

// pluginVersions reads the CNI plugins' versions once per client.
func (m *networkManager) pluginVersions(path string) map[string]string {
	if m == nil {
		return nil
	}
	m.versionsOnce.Do(func() { m.versions = netns.PluginVersions(path) })
	return m.versions
}

// NetworkLeases returns the bridge addresses leased, by alloc ID.
func (c *Client) NetworkLeases() (map[string]string, error) { return c.db.Leases() }

// driverNamespace is where the driver that holds an allocation's namespace
// holds it now (networkManager.driverNamespace).
func (c *Client) driverNamespace(rec *state.NetworkRecord) (string, error) {
	d, ok := c.drivers.Get(rec.Driver)
	if !ok {
		return "", fmt.Errorf("driver %s is not loaded", rec.Driver)
	}
	nc, ok := d.(drivers.NetworkCreator)
	if !ok {
		return "", fmt.Errorf("driver %s holds no namespaces", rec.Driver)
	}
	spec, _, err := nc.CreateNetwork(rec.AllocID, &drivers.NetworkCreateRequest{Hostname: rec.Hostname})
	if err != nil {
		return "", err
	}
	return spec.Path, nil
}

// networkMoved hands a namespace a repair moved to the allocation's runner.
func (c *Client) networkMoved(allocID string, res *allocrunner.NetworkResult) {
	ar, err := c.GetAllocRunner(allocID)
	if err != nil {
		return
	}
	go ar.NetworkMoved(c.ctx, res)
}
