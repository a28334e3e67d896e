package fingerprint

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// TestFingerprintAttributesDeclared runs the real fingerprinters on this host,
// with every optional input set (host networks, bridge facts working and
// broken, CNI networks offered and not, plugin versions), and fails on any
// attribute name that structs does not declare: a name the scheduler or a
// job may read must be defined once, in structs/node_attrs.go.
func TestFingerprintAttributesDeclared(t *testing.T) {
	cniDir := t.TempDir()
	conf := `{"cniVersion": "0.4.0", "name": "attrs-net", "plugins": [{"type": "loopback"}]}`
	if err := os.WriteFile(filepath.Join(cniDir, "10-attrs.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	base := Config{
		AllocDir: t.TempDir(), NetworkInterface: "lo", ReservedPorts: "22", ReservedCores: []uint16{0},
		MinDynamicPort: 20000, MaxDynamicPort: 32000, Version: "0.1.0", NomadVersion: "1.9.7",
		HostNetworks: map[string]*structs.ClientHostNetworkConfig{"loopback": {CIDR: "127.0.0.0/8"}},
		CNIConfigDir: cniDir, CNIPluginVersions: map[string]string{"bridge": "v1.4.0", "loopback": "v1.4.0"},
	}
	// Plugins found and missing: one run offers the network, one says why not.
	variants := map[string]func(*Config){
		"bridge works, cni plugins found": func(c *Config) {
			c.Bridge, c.CNIPath = &BridgeFacts{Name: "attrs0", Hairpin: true}, "/usr/lib/cni"
		},
		"bridge broken, cni plugins missing": func(c *Config) {
			c.Bridge, c.CNIPath = &BridgeFacts{Err: errors.New("no bridge module")}, t.TempDir()
		},
	}
	seen := map[string]bool{}
	for name, mod := range variants {
		cfg := base
		mod(&cfg)
		n := &structs.Node{}
		if err := Run(Default(), &cfg, n, testutil.Logger(t)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for k := range n.Attributes {
			seen[k] = true
			if !structs.IsDeclaredNodeAttr(k) {
				t.Errorf("%s: fingerprint wrote attribute %q, which structs/node_attrs.go does not declare", name, k)
			}
		}
	}
	// The run must have reached the families, or the check proves little.
	for _, want := range []string{structs.AttrBridgeUnavailable, structs.AttrBridgeHairpinMode,
		structs.AttrCNIUnavailablePrefix + "attrs-net", structs.AttrCNIPluginVersionPrefix + "bridge", structs.AttrHostname} {
		if !seen[want] {
			t.Errorf("no run wrote %q; attributes seen: %v", want, slices.Sorted(maps.Keys(seen)))
		}
	}
}
