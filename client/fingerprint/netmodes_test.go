package fingerprint

import (
	"os"
	"path/filepath"
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
	n := &structs.Node{Attributes: map[string]string{CNIUnavailableAttrPrefix + "gone": "stale"}, NodeResources: &structs.NodeResources{}}
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
	if why := n.Attributes[CNIUnavailableAttrPrefix+"broken"]; !strings.Contains(why, "no-such-plugin not found") {
		t.Fatalf("reason for cni/broken: %q", why)
	}
	if _, ok := n.Attributes[CNIUnavailableAttrPrefix+"gone"]; ok {
		t.Fatal("a reason from an earlier fingerprint was kept")
	}
}
