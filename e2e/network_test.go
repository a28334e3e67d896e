package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// networkConfig is serverClientConfig with a bridge of the test's own.
func networkConfig(t *testing.T, dataDir string, n nstest.Names, clientExtra string) string {
	cfg := serverClientConfig(t, dataDir)
	return strings.Replace(cfg, "  disable_bridge_network = true\n", fmt.Sprintf(`  bridge_network_name         = %q
  bridge_network_subnet       = %q
  bridge_network_chain_prefix = %q
  bridge_network_veth_prefix  = %q
  cni_config_dir              = %q
  min_dynamic_port            = %d
  max_dynamic_port            = %d
%s`, n.Bridge, n.Subnet, n.ChainPrefix, n.VethPrefix, t.TempDir(), n.PortLo, n.PortHi, clientExtra), 1)
}

// bridgeAgent starts a binary agent with its own bridge; when the test ends
// (after the harness purged the jobs and stopped the agent) the bridge goes
// and the host must be as before.
func bridgeAgent(t *testing.T) (*agentProc, nstest.Names) {
	return bridgeAgentWith(t, "")
}

// bridgeAgentWith is bridgeAgent with more lines for the client block.
func bridgeAgentWith(t *testing.T, clientExtra string) (*agentProc, nstest.Names) {
	return bridgeAgentEdit(t, clientExtra, func(cfg string) string { return cfg })
}

// bridgeAgentEdit is bridgeAgentWith whose whole configuration edit
// rewrites first (a server setting).
func bridgeAgentEdit(t *testing.T, clientExtra string, edit func(cfg string) string) (*agentProc, nstest.Names) {
	nstest.RequireRoot(t)
	n := nstest.Unique(t)
	before := nstest.Snapshot(t, n.ChainPrefix, n.Bridge, n.VethPrefix)
	t.Cleanup(func() {
		br, err := netns.NewBridge(netns.BridgeConfig{Name: n.Bridge, Subnet: n.Subnet, ChainPrefix: n.ChainPrefix, VethPrefix: n.VethPrefix}, &netns.MemLeaseStore{}, testutil.Logger(t))
		if err == nil {
			err = br.Destroy()
		}
		if err != nil {
			t.Errorf("remove the test bridge: %v", err)
		}
		nstest.AssertSame(t, before, nstest.Snapshot(t, n.ChainPrefix, n.Bridge, n.VethPrefix))
	})
	dataDir := t.TempDir()
	testutil.CleanupMounts(t, dataDir)
	return startAgent(t, dataDir, edit(networkConfig(t, dataDir, n, clientExtra))), n
}

func netAllocs(t *testing.T, c *api.Client, job string, n int) map[string]*api.Allocation {
	t.Helper()
	out := map[string]*api.Allocation{}
	testutil.WaitFor(t, 60*time.Second, func() error {
		stubs, _, err := c.Jobs().Allocations(job, false, nil)
		if err != nil {
			return err
		}
		clear(out)
		for _, s := range stubs {
			if s.ClientStatus != structs.AllocClientStatusRunning {
				return fmt.Errorf("alloc %s %s", s.ID[:8], s.ClientStatus)
			}
			a, _, err := c.Allocations().Info(s.ID, nil)
			if err != nil {
				return err
			}
			out[a.TaskGroup] = a
		}
		if len(out) != n {
			return fmt.Errorf("%d running, want %d", len(out), n)
		}
		return nil
	})
	return out
}

func answer(t *testing.T, addr string) string {
	t.Helper()
	var got string
	testutil.WaitFor(t, 30*time.Second, func() (err error) {
		got, err = nstest.ReadTCP("", addr)
		return err
	})
	return got
}

// TestBridgeTwoGroupsSurviveClientKill runs the two-group job file with the
// CLI, reaches both groups through their host ports, SIGKILLs the agent,
// deletes one allocation's veth and rules by hand, starts the agent again
// and finds the allocation reachable again at the same address; stopping
// the job then leaves no namespace, veth, rule or lease.
func TestBridgeTwoGroupsSurviveClientKill(t *testing.T) {
	p, n := bridgeAgent(t)
	if out, code := p.roam(t, "job", "run", "-detach", "testdata/net-two-groups.nomad"); code != 0 {
		t.Fatalf("job run: %s", out)
	}
	c := p.api(t)
	allocs := netAllocs(t, c, "hello", 2)
	app, _ := allocs["app"].AllocatedResources.Shared.Ports.Get("app")
	redis, _ := allocs["redis"].AllocatedResources.Shared.Ports.Get("redis")
	if got := answer(t, app.HostAddr()); got != "app" {
		t.Fatalf("app: %q", got)
	}
	if got := answer(t, redis.HostAddr()); got != "+PONG" {
		t.Fatalf("redis: %q", got)
	}
	// From inside app's namespace, redis only through its host port.
	ns := netns.NamedPath(allocs["app"].ID)
	gw := netns.Gateway(n.Subnet)
	if got, err := nstest.ReadTCP(ns, fmt.Sprintf("%s:%d", gw, redis.Value)); err != nil || got != "+PONG" {
		t.Fatalf("app -> redis via host port: %q %v", got, err)
	}
	if _, err := nstest.ReadTCP(ns, allocs["redis"].NetworkStatus.Address+":6379"); err == nil {
		t.Fatal("app reached redis's namespace address directly")
	}

	p.kill()
	nstest.Cmd(t, "ip", "link", "del", netns.HostVethName(n.VethPrefix, allocs["app"].ID))
	nstest.Cmd(t, "sh", "-c", fmt.Sprintf("iptables-save -t nat | grep -- '-A %s.*roam alloc %s' | sed 's/^-A/-D/' | xargs -L1 iptables -t nat", n.ChainPrefix, allocs["app"].ID))
	if _, err := nstest.ReadTCP("", app.HostAddr()); err == nil {
		t.Fatal("app still reachable after its veth and rules were deleted")
	}
	p2 := launch(t, p.dataDir, p.cfgPath)
	if got := answer(t, app.HostAddr()); got != "app" {
		t.Fatalf("app after restart: %q", got)
	}
	after := netAllocs(t, p2.api(t), "hello", 2)
	if after["app"].ID != allocs["app"].ID || after["app"].NetworkStatus.Address != allocs["app"].NetworkStatus.Address {
		t.Fatalf("app after restart: %s %+v, before %s %+v", after["app"].ID, after["app"].NetworkStatus, allocs["app"].ID, allocs["app"].NetworkStatus)
	}
	if out, code := p2.roam(t, "job", "stop", "-purge", "hello"); code != 0 {
		t.Fatalf("job stop: %s", out)
	}
	// Nothing on the host names the stopped allocations any more: no
	// namespace, veth or iptables rule (the lease store is checked by the
	// agent package's tests, which can read it).
	var markers []string
	for _, a := range allocs {
		markers = append(markers, a.ID, netns.HostVethName(n.VethPrefix, a.ID))
	}
	testutil.WaitFor(t, 60*time.Second, func() error {
		if h := nstest.Snapshot(t, markers...); len(h.Namespaces)+len(h.Links)+len(h.Rules) > 0 {
			return fmt.Errorf("left on the host: %+v", h)
		}
		return nil
	})
}

// TestSeedAPIGroupExecTaskInBridgeMode runs the api group of the
// mixed-drivers seed: an exec task behind a static port.
func TestSeedAPIGroupExecTaskInBridgeMode(t *testing.T) {
	if _, err := os.Stat("/usr/bin/perl"); err != nil {
		t.Skip("perl not installed")
	}
	p, _ := bridgeAgent(t)
	if out, code := p.roam(t, "job", "run", "-detach", filepath.Join("testdata", "net-api-mixed-drivers.nomad")); code != 0 {
		t.Fatalf("job run: %s", out)
	}
	allocs := netAllocs(t, p.api(t), "api", 1)
	if got := answer(t, "127.0.0.1:9090"); got != "api on "+allocs["api"].NetworkStatus.Address {
		t.Fatalf("api: %q", got)
	}
}
