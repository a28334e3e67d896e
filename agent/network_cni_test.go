package agent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// cniConf is a network built from Debian's containernetworking-plugins:
// bridge with host-local addresses, and portmap for the group's ports.
const cniConf = `{
  "cniVersion": "0.4.0",
  "name": "testnet",
  "plugins": [
    {"type": "loopback"},
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.198.%d.0/24"}]],
              "routes": [{"dst": "0.0.0.0/0"}], "dataDir": %q}},
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
  ]
}`

func requireCNIPlugins(t *testing.T) {
	for _, p := range []string{"bridge", "host-local", "portmap", "loopback"} {
		if _, err := os.Stat(filepath.Join("/usr/lib/cni", p)); err != nil {
			t.Skipf("CNI plugin %s not installed (scripts/test-setup.sh installs containernetworking-plugins)", p)
		}
	}
}

// TestCNIJobPendingUntilANodeHasTheNetwork: a job in mode cni/testnet is
// planned with "missing network" and stays pending while no node offers
// the network; when a client whose cni_config_dir defines it joins, the
// job runs there and its port is mapped through the portmap plugin.
func TestCNIJobPendingUntilANodeHasTheNetwork(t *testing.T) {
	requireCNIPlugins(t)
	a, _ := netAgent(t, nil)
	c := apiClient(t, a)
	port := nstest.FreePort(t, 40000, 45000)
	hcl := fmt.Sprintf(staticJob, "cnijob", port, strings.ReplaceAll(perlServer("8080", "via-cni"), `"`, `\"`))
	hcl = strings.Replace(hcl, `mode = "bridge"`, `mode = "cni/testnet"`, 1)
	job, err := c.Jobs().Parse(&jobsParse{JobHCL: hcl, Canonicalize: true})
	if err != nil {
		t.Fatal(err)
	}
	plan, _, err := c.Jobs().Plan(job, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := plan.FailedTGAllocs["g"]; m == nil || m.ConstraintFiltered["missing network"] == 0 {
		t.Fatalf("plan without a node offering cni/testnet: %+v", m)
	}
	registerHCL(t, c, hcl)
	// The scheduler has looked at the job once its evaluation is blocked,
	// waiting for a node with the network: only then does "no allocation"
	// mean something.
	testutil.WaitFor(t, 30*time.Second, func() error {
		evals, _, err := c.Jobs().Evaluations(job.ID, nil)
		if err != nil {
			return err
		}
		for _, e := range evals {
			if e.Status == structs.EvalStatusBlocked {
				return nil
			}
		}
		return fmt.Errorf("no blocked evaluation among %d", len(evals))
	})
	if stubs, _, _ := c.Jobs().Allocations(job.ID, false, nil); len(stubs) != 0 {
		t.Fatalf("placed without a node offering the network: %d allocs", len(stubs))
	}

	br := "rc" + nstest.RandHex(3)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", br).Run() })
	confDir := t.TempDir()
	conf := fmt.Sprintf(cniConf, br, 100+int(nstest.RandHex(1)[0])%50, t.TempDir())
	if err := os.WriteFile(filepath.Join(confDir, "testnet.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	b := testAgent(t, func(cfg *Config) {
		cfg.Server.Enabled = false
		cfg.Client.Servers = []string{a.Server().LocalAddr()}
		cfg.Client.CNIConfigDir = confDir
	})
	allocs := runningAllocs(t, c, job.ID, 1)
	if al := allocs["g"]; al.NodeID != b.Client().NodeID() || al.NetworkStatus == nil || !strings.HasPrefix(al.NetworkStatus.Address, "10.198.") {
		t.Fatalf("alloc on %s with %+v, want node B and a 10.198. address", al.NodeID, al.NetworkStatus)
	}
	if got := readWhenUp(t, "", fmt.Sprintf("127.0.0.1:%d", port)); got != "via-cni" {
		t.Fatalf("through portmap: %q", got)
	}
	stopAndCheckClean(t, b, c, job.ID, allocs)
}
