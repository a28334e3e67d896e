package client

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"time"

	"github.com/roam-sh/roam/client/fingerprint"
	"github.com/roam-sh/roam/client/network"
	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/internal/cpuset"
	"github.com/roam-sh/roam/structs"
)

// nodeIdentity returns the node's persisted ID and secret, creating them on
// first start: the ID must survive restarts so the servers see the same node.
func nodeIdentity(db *state.DB) (id, secret string, err error) {
	id, secret, err = db.NodeIdentity()
	if err != nil || (id != "" && secret != "") {
		return id, secret, err
	}
	id, secret = structs.GenerateUUID(), structs.GenerateUUID()
	return id, secret, db.PutNodeIdentity(id, secret)
}

// buildNode assembles the node from configuration and fingerprints. Drivers
// slow to fingerprint are pending on the node; their results arrive on the
// returned channel (firstFingerprintWait).
func buildNode(cfg *Config, id, secret string, reg *drivers.Registry, nets *network.Manager, wait time.Duration) (*structs.Node, <-chan driverResult, error) {
	// Drivers first, in the background: java's JVM and docker's daemon take
	// longer than everything else here together.
	lateCh := make(chan (<-chan driverResult), 1)
	var infos map[string]*structs.DriverInfo
	var attrs map[string]string
	done := make(chan struct{})
	go func() {
		defer close(done)
		var late <-chan driverResult
		infos, attrs, late = fingerprintDriversAsync(reg, wait)
		lateCh <- late
	}()
	n, err := buildHostNode(cfg, id, secret, nets)
	<-done
	late := <-lateCh
	if err != nil {
		return nil, late, err
	}
	n.Drivers = infos
	maps.Copy(n.Attributes, attrs)
	n.ComputedClass = n.ComputeClass()
	return n, late, nil
}

// buildHostNode is the node without its drivers: configuration and the
// host's fingerprints.
func buildHostNode(cfg *Config, id, secret string, nets *network.Manager) (*structs.Node, error) {
	name := cfg.NodeName
	if name == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("node name: %w", err)
		}
		name = h
	}
	cores, err := cpuset.Parse(cfg.Reserved.Cores)
	if err != nil {
		return nil, fmt.Errorf("reserved cores: %w", err)
	}
	n := &structs.Node{
		ID: id, SecretID: secret, Name: name, Datacenter: cfg.Datacenter, NodeClass: cfg.NodeClass,
		NodePool: cfg.NodePool, Meta: maps.Clone(cfg.Meta), HTTPAddr: cfg.HTTPAddr,
		HostVolumes: hostVolumes(cfg.HostVolumes), HostNetworks: hostNetworks(cfg.HostNetworks),
		Status: structs.NodeStatusReady, SchedulingEligibility: structs.NodeSchedulingEligible,
		Attributes: map[string]string{}, NodeResources: &structs.NodeResources{},
		ReservedResources: &structs.NodeReservedResources{
			Cpu:      structs.NodeReservedCpuResources{CpuShares: uint64(cfg.Reserved.CPU), ReservedCores: cores},
			Memory:   structs.NodeReservedMemoryResources{MemoryMB: uint64(cfg.Reserved.MemoryMB)},
			Disk:     structs.NodeReservedDiskResources{DiskMB: uint64(cfg.Reserved.DiskMB)},
			Networks: structs.NodeReservedNetworkResources{ReservedHostPorts: cfg.Reserved.ReservedPorts},
		},
	}
	if n.Meta == nil {
		n.Meta = map[string]string{}
	}
	fcfg := fingerprintConfig(cfg, n, nets)
	fcfg.ReservedCores = cores
	if err := fingerprint.Run(fingerprint.Default(), fcfg, n, cfg.Logger.With("component", "fingerprint")); err != nil {
		return nil, err
	}
	if cfg.HTTPAddr != "" {
		n.Attributes[structs.AttrNomadAdvertiseAddr] = cfg.HTTPAddr
	}
	return n, nil
}

// fingerprintConfig is what the fingerprinters read from the client.
func fingerprintConfig(cfg *Config, n *structs.Node, nets *network.Manager) *fingerprint.Config {
	fcfg := &fingerprint.Config{
		AllocDir: cfg.AllocDir, NetworkInterface: cfg.NetworkInterface, HostNetworks: n.HostNetworks,
		ReservedPorts:  cfg.Reserved.ReservedPorts,
		MinDynamicPort: cfg.MinDynamicPort, MaxDynamicPort: cfg.MaxDynamicPort,
		Version: cfg.Version, NomadVersion: cfg.NomadVersion,
		CNIPath: cfg.CNIPath, CNIConfigDir: cfg.CNIConfigDir, CNIPluginVersions: nets.PluginVersions(cfg.CNIPath),
	}
	if nets != nil {
		fcfg.Bridge = &fingerprint.BridgeFacts{Name: cfg.BridgeName, Hairpin: cfg.BridgeHairpin, Err: nets.BridgeErr()}
	}
	return fcfg
}

// applyDriverFingerprint replaces the node's driver information, dropping
// attributes of drivers that are no longer detected.
func applyDriverFingerprint(n *structs.Node, infos map[string]*structs.DriverInfo, attrs map[string]string) {
	for name, old := range n.Drivers {
		delete(n.Attributes, structs.AttrDriver(name))
		for k := range old.Attributes {
			delete(n.Attributes, k)
		}
	}
	n.Drivers = infos
	maps.Copy(n.Attributes, attrs)
	n.ComputedClass = n.ComputeClass()
}

func hostVolumes(m map[string]*structs.ClientHostVolumeConfig) map[string]*structs.ClientHostVolumeConfig {
	out := make(map[string]*structs.ClientHostVolumeConfig, len(m))
	for name, v := range m {
		c := *v
		c.Name = name
		out[name] = &c
	}
	return out
}

func hostNetworks(m map[string]*structs.ClientHostNetworkConfig) map[string]*structs.ClientHostNetworkConfig {
	out := make(map[string]*structs.ClientHostNetworkConfig, len(m))
	for name, v := range m {
		c := *v
		c.Name = name
		out[name] = &c
	}
	return out
}

// isUnknownNode reports whether a server error means it does not know this
// node (it was garbage collected, or the servers lost their state), so the
// client must register again. The heartbeat and the allocation watch name
// only the node, so their not-found is the node's; the kind crosses the
// wire with the error (structs.ErrorKind), never read from its text.
func isUnknownNode(err error) bool { return errors.Is(err, structs.ErrNotFound) }
