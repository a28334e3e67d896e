package client

import (
	"reflect"

	"github.com/roam-sh/roam/client/fingerprint"
	"github.com/roam-sh/roam/structs"
)

// refreshNetworkFingerprint re-reads the CNI networks (an operator may add
// a config at any time) and the host's listening sockets, which the node
// reports as reserved so that no dynamic port lands on one. It reports
// whether the node changed.
func (c *Client) refreshNetworkFingerprint() bool {
	c.nodeMu.RLock()
	n := c.node.Copy()
	c.nodeMu.RUnlock()
	fcfg := fingerprintConfig(&c.cfg, n, c.network)
	// The network fingerprint resets the modes and reserved ports; the
	// bridge and CNI ones add theirs back.
	for _, fp := range []fingerprint.Fingerprinter{netFP(), bridgeFP(), cniFP()} {
		if err := fp.Fingerprint(fcfg, n); err != nil {
			c.logger.Warn("network fingerprint", "fingerprinter", fp.Name(), "error", err)
		}
	}
	fingerprint.ReserveListening(n, fingerprint.ListeningSockets(), c.cfg.MinDynamicPort, c.cfg.MaxDynamicPort,
		c.baseReservedPorts, c.allocPorts())
	c.nodeMu.Lock()
	defer c.nodeMu.Unlock()
	if reflect.DeepEqual(c.node.NodeResources.Networks, n.NodeResources.Networks) &&
		reflect.DeepEqual(c.node.NodeResources.NodeNetworks, n.NodeResources.NodeNetworks) &&
		reflect.DeepEqual(c.node.Attributes, n.Attributes) {
		return false
	}
	c.node.NodeResources.Networks = n.NodeResources.Networks
	c.node.NodeResources.NodeNetworks = n.NodeResources.NodeNetworks
	c.node.Attributes = n.Attributes
	c.node.ComputedClass = c.node.ComputeClass()
	return true
}

func netFP() fingerprint.Fingerprinter    { return findFP("network") }
func bridgeFP() fingerprint.Fingerprinter { return findFP("bridge") }
func cniFP() fingerprint.Fingerprinter    { return findFP("cni") }

func findFP(name string) fingerprint.Fingerprinter {
	for _, fp := range fingerprint.Default() {
		if fp.Name() == name {
			return fp
		}
	}
	panic("no fingerprinter " + name)
}

// baseReservedPorts is what the configuration reserves on a host network.
func (c *Client) baseReservedPorts(alias string) string {
	if alias == "" || alias == structs.DefaultHostNetwork {
		return c.cfg.Reserved.ReservedPorts
	}
	if hn := c.cfg.HostNetworks[alias]; hn != nil {
		return hn.ReservedPorts
	}
	return ""
}

// allocPorts are the host ports of the allocations the client runs: their
// own listeners are not foreign sockets.
func (c *Client) allocPorts() map[int]bool {
	out := map[int]bool{}
	for _, ar := range c.allocRunners() {
		a := ar.Alloc()
		if a.AllocatedResources == nil {
			continue
		}
		for _, p := range a.AllocatedResources.Shared.Ports {
			out[p.Value] = true
		}
		for _, n := range a.AllocatedResources.Shared.Networks {
			for _, p := range append(append([]structs.Port{}, n.ReservedPorts...), n.DynamicPorts...) {
				out[p.Value] = true
			}
		}
	}
	return out
}
