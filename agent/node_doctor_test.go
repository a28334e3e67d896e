package agent

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-sh/roam/netns/doctor"
	"github.com/roam-sh/roam/netns/nstest"
)

// TestNodeDoctorExplainsWhatIsMissing runs `roam node doctor -json` on a
// config with one usable CNI network, one naming a plugin that is not
// installed and a host network no address matches: the kernel checks pass
// on this host, the two broken items fail saying why and what to do, and
// the command exits with an error.
func TestNodeDoctorExplainsWhatIsMissing(t *testing.T) {
	nstest.RequireRoot(t)
	requireCNIPlugins(t)
	dir := t.TempDir()
	confDir := filepath.Join(dir, "cni")
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(confDir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("10-good.conflist", `{"cniVersion": "0.4.0", "name": "good", "plugins": [{"type": "loopback"}]}`)
	write("20-broken.conflist", `{"cniVersion": "0.4.0", "name": "broken", "plugins": [{"type": "loopback"}, {"type": "no-such-plugin"}]}`)
	cfg := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(cfg, []byte(`
client {
  cni_path       = "/usr/lib/cni"
  cni_config_dir = "`+confDir+`"
  host_network "nowhere" {
    cidr = "203.0.113.0/24"
  }
}
`), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := NodeDoctorCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"--dev", "--config", cfg, "--json"})
	err := cmd.Execute()
	if err == nil {
		t.Fatalf("doctor passed with a broken CNI network and a host network without addresses:\n%s", out.String())
	}
	var checks []doctor.Check
	if jerr := json.NewDecoder(&out).Decode(&checks); jerr != nil {
		t.Fatalf("doctor -json: %v\n%s", jerr, out.String())
	}
	got := map[string]doctor.Check{}
	for _, c := range checks {
		got[c.Name] = c
	}
	for name, want := range map[string]struct {
		status doctor.Status
		detail string
	}{
		"network namespaces":   {doctor.OK, ""},
		"bridge devices":       {doctor.OK, ""},
		"veth pairs":           {doctor.OK, ""},
		"cni/good":             {doctor.OK, "10-good.conflist"},
		"cni/broken":           {doctor.Fail, "no-such-plugin not found"},
		"host network nowhere": {doctor.Fail, "no address matches"},
	} {
		c, ok := got[name]
		if !ok {
			t.Errorf("no %q check in %v", name, checks)
			continue
		}
		if c.Status != want.status || !strings.Contains(c.Detail, want.detail) {
			t.Errorf("%s: %s %q, want %s containing %q", name, c.Status, c.Detail, want.status, want.detail)
		}
		if c.Status != doctor.OK && c.Fix == "" {
			t.Errorf("%s fails without saying what to do", name)
		}
	}
}
