package fingerprint

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/roam-sh/roam/structs"
)

// Fingerprinter fills in part of a node. It writes attributes and resources
// directly into node, which Run prepares (non-nil maps and NodeResources).
type Fingerprinter interface {
	Name() string
	Fingerprint(cfg *Config, node *structs.Node) error
}

// Config is what fingerprinters read from the client's configuration.
type Config struct {
	// AllocDir is measured by the storage fingerprinter; it must exist.
	AllocDir string
	// NetworkInterface is the interface whose addresses are the node's default
	// host network; "" picks the interface of the default route.
	NetworkInterface string
	// HostNetworks are the operator's named host networks.
	HostNetworks map[string]*structs.ClientHostNetworkConfig
	// ReservedPorts are host ports never handed out ("22,8000-8100").
	ReservedPorts string
	// ReservedCores are cores never handed to tasks.
	ReservedCores  []uint16
	MinDynamicPort int
	MaxDynamicPort int
	// Version is roam's version; NomadVersion the Nomad version roam presents
	// itself as, for jobs that constrain on ${attr.nomad.version}.
	Version      string
	NomadVersion string
	// Bridge is what the client found about bridge networking (nil: not
	// probed, nothing reported).
	Bridge *BridgeFacts
	// CNIPath and CNIConfigDir locate CNI plugins and network configs;
	// CNIPluginVersions are the plugins' versions, read once at start
	// (running every plugin on each refresh would cost too much).
	CNIPath           string
	CNIConfigDir      string
	CNIPluginVersions map[string]string
}

// Default returns the fingerprinters in the order they run.
func Default() []Fingerprinter {
	return []Fingerprinter{
		// Host identity first: nothing depends on it, and it names the node.
		hostFingerprint{},
		// CPU and memory: the resources the scheduler packs against.
		cpuFingerprint{},
		memoryFingerprint{},
		// Cgroups: which version task isolation (exec, java) will use.
		cgroupFingerprint{},
		// Storage after the host: it reports the alloc dir's filesystem.
		storageFingerprint{},
		// Network: addresses for ports and NOMAD_IP_*; dynamic port range.
		networkFingerprint{},
		// Network modes after the host network, whose entry they join.
		bridgeFingerprint{},
		cniFingerprint{},
		// Versions last; they never fail.
		versionFingerprint{},
	}
}

// Run runs fps over node in order. Every fingerprinter runs; their errors are
// returned together.
func Run(fps []Fingerprinter, cfg *Config, node *structs.Node, logger *slog.Logger) error {
	if node.Attributes == nil {
		node.Attributes = map[string]string{}
	}
	if node.NodeResources == nil {
		node.NodeResources = &structs.NodeResources{}
	}
	var errs []error
	for _, fp := range fps {
		if err := fp.Fingerprint(cfg, node); err != nil {
			errs = append(errs, fmt.Errorf("fingerprint %s: %w", fp.Name(), err))
			continue
		}
		logger.Debug("fingerprinted", "fingerprinter", fp.Name())
	}
	return errors.Join(errs...)
}

var discard = slog.New(slog.DiscardHandler)
