package fingerprint

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/structs"
)

// BridgeFacts is what the client found out about bridge networking when it
// started (it probes the kernel and creates the bridge then).
type BridgeFacts struct {
	Name    string
	Hairpin bool
	// Err says why bridge mode is unavailable; nil when it works.
	Err error
}

// bridgeFingerprint offers mode "bridge" when the client's bridge works.
type bridgeFingerprint struct{}

func (bridgeFingerprint) Name() string { return "bridge" }

func (bridgeFingerprint) Fingerprint(cfg *Config, n *structs.Node) error {
	b := cfg.Bridge
	delete(n.Attributes, structs.AttrBridgeUnavailable)
	if b == nil {
		return nil
	}
	if b.Err != nil {
		n.Attributes[structs.AttrBridgeUnavailable] = b.Err.Error()
		return nil
	}
	n.NodeResources.Networks = append(n.NodeResources.Networks, &structs.NetworkResource{
		Mode: structs.NetworkModeBridge, Device: b.Name,
	})
	n.Attributes[structs.AttrBridgeHairpinMode] = strconv.FormatBool(b.Hairpin)
	return nil
}

// cniFingerprint offers mode "cni/<name>" for every network config in the
// CNI config dir, and reports the plugins found on the CNI path.
type cniFingerprint struct{}

func (cniFingerprint) Name() string { return "cni" }

func (cniFingerprint) Fingerprint(cfg *Config, n *structs.Node) error {
	if cfg.CNIConfigDir == "" {
		return nil
	}
	for k := range n.Attributes {
		if strings.HasPrefix(k, structs.AttrCNIPluginVersionPrefix) || strings.HasPrefix(k, structs.AttrCNIUnavailablePrefix) {
			delete(n.Attributes, k)
		}
	}
	c := netns.NewCNI(cfg.CNIPath, cfg.CNIConfigDir, "", discard)
	nets, warnings := c.Networks()
	for _, name := range slices.Sorted(maps.Keys(nets)) {
		// A network whose plugins are missing is not offered: its jobs
		// would be placed here only to fail. The reason goes to placement.
		if why := cniUnavailable(c, name, cfg.CNIPath); why != "" {
			n.Attributes[structs.AttrCNIUnavailablePrefix+name] = why
			continue
		}
		n.NodeResources.Networks = append(n.NodeResources.Networks, &structs.NetworkResource{
			Mode: structs.NetworkMode(structs.NetworkModeCNIPrefix + name),
		})
	}
	if cfg.CNIPluginVersions != nil {
		for name, v := range cfg.CNIPluginVersions {
			n.Attributes[structs.AttrCNIPluginVersionPrefix+name] = v
		}
	}
	if len(warnings) > 0 {
		return fmt.Errorf("CNI configs: %v", warnings)
	}
	return nil
}

func cniUnavailable(c *netns.CNI, name, path string) string {
	list, err := c.Load(name)
	if err != nil {
		return err.Error()
	}
	if missing := c.MissingPlugins(list); len(missing) > 0 {
		return fmt.Sprintf("plugins %s not found in %s", strings.Join(missing, ", "), path)
	}
	return ""
}
