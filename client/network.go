package client

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/roam-sh/roam/client/allocrunner"
	"github.com/roam-sh/roam/client/network"
	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/netns"
)

// newNetworkManager builds the group networks' manager (client/network)
// from the client's configuration.
func newNetworkManager(cfg *Config, db *state.DB, owner *netns.Owner) *network.Manager {
	return network.New(network.Config{
		Owner: owner, OwnersDir: cfg.OwnersDir,
		DisableBridge: cfg.DisableBridge, BridgeName: cfg.BridgeName, BridgeSubnet: cfg.BridgeSubnet,
		BridgeHairpin: cfg.BridgeHairpin, BridgeChainPrefix: cfg.BridgeChainPrefix,
		BridgeVethPrefix: cfg.BridgeVethPrefix, BridgeFirewall: cfg.BridgeFirewall,
		CNIPath: cfg.CNIPath, CNIConfigDir: cfg.CNIConfigDir, CNIInterfacePrefix: cfg.CNIInterfacePrefix,
		Logger: cfg.Logger,
	}, db)
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
		c.network.Repair(ctx, c.liveAllocs())
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

// NetworkLeases returns the bridge addresses leased, by alloc ID.
func (c *Client) NetworkLeases() (map[string]string, error) { return c.db.Leases() }

// driverNamespace is where the driver that holds an allocation's namespace
// holds it now (network.Callbacks.DriverNamespace).
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

// acquireOwner takes this client's ownership record (netns.Owner). Without
// one (not root: /run is not writable) networks still work, but what a
// crash leaves is not found by the next client.
func acquireOwner(cfg *Config, nodeID string, logger *slog.Logger) *netns.Owner {
	o, err := netns.AcquireOwner(cfg.OwnersDir, netns.OwnerInfo{
		ID: nodeID, PID: os.Getpid(), Ephemeral: cfg.Ephemeral,
		Bridge: cfg.BridgeName, ChainPrefix: cfg.BridgeChainPrefix, VethPrefix: cfg.BridgeVethPrefix,
		Firewall: cfg.BridgeFirewall,
	})
	if err != nil {
		logger.Warn("no ownership record for this client's networks", "error", err)
		return nil
	}
	return o
}
