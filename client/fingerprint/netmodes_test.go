package fingerprint

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/roam-sh/roam/structs"
)

// A CNI network whose plugins are not installed is not offered, and the
// node says why; one whose plugins are there is offered.
func TestCNINetworkWithMissingPluginsNotOffered(t *testing.T) {
	const pluginDir = "/usr/lib/cni"
	if _, err := os.Stat(filepath.Join(pluginDir, "loopback")); err != nil {
		t.Skip("Debian's containernetworking-plugins are not installed (scripts/test-setup.sh installs them)")
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"10-good.conflist":   `{"cniVersion": "0.4.0", "name": "good", "plugins": [{"type": "loopback"}]}`,
		"20-broken.conflist": `{"cniVersion": "0.4.0", "name": "broken", "plugins": [{"type": "loopback"}, {"type": "no-such-plugin"}]}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n := &structs.Node{Attributes: map[string]string{structs.AttrCNIUnavailablePrefix + "gone": "stale"}, NodeResources: &structs.NodeResources{}}
	if err := (cniFingerprint{}).Fingerprint(&Config{CNIPath: pluginDir, CNIConfigDir: dir}, n); err != nil {
		t.Fatal(err)
	}
	var modes []string
	for _, nw := range n.NodeResources.Networks {
		modes = append(modes, string(nw.Mode))
	}
	if len(modes) != 1 || modes[0] != "cni/good" {
		t.Fatalf("offered %v, want only cni/good", modes)
	}
	if why := n.Attributes[structs.AttrCNIUnavailablePrefix+"broken"]; !strings.Contains(why, "no-such-plugin not found") {
		t.Fatalf("reason for cni/broken: %q", why)
	}
	if _, ok := n.Attributes[structs.AttrCNIUnavailablePrefix+"gone"]; ok {
		t.Fatal("a reason from an earlier fingerprint was kept")
	}
}

// A host network selects the addresses of its interface that fall inside
// one of its CIDRs; each part is optional; cidr may list several prefixes.
// (0.0.0.0/32 matches no address; the host's own addresses are left alone.)
func TestHostNetworkMatchesInterfaceAndCIDR(t *testing.T) {
	addrs := func(hn *structs.ClientHostNetworkConfig) []string {
		var out []string
		for _, nr := range addHostNetwork(nil, hn) {
			for _, a := range nr.Addresses {
				if a.Alias != hn.Name {
					t.Errorf("address %s has alias %q, want %q", a.Address, a.Alias, hn.Name)
				}
				out = append(out, a.Address)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name, iface, cidr string
		want              []string
	}{
		{"cidr alone", "", "127.0.0.1/32", []string{"127.0.0.1"}},
		{"interface alone", "lo", "", []string{"127.0.0.1"}},
		{"both match", "lo", "127.0.0.0/8", []string{"127.0.0.1"}},
		{"interface matches, cidr does not", "lo", "0.0.0.0/32", nil},
		{"several prefixes", "", "0.0.0.0/32, 127.0.0.1/32", []string{"127.0.0.1"}},
		{"no such interface", "no-such-if0", "127.0.0.0/8", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := addrs(&structs.ClientHostNetworkConfig{Name: "hn", Interface: tc.iface, CIDR: tc.cidr})
			if !slices.Equal(got, tc.want) {
				t.Fatalf("addresses %v, want %v", got, tc.want)
			}
		})
	}
}
