package agent

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/testutil"
)

// wipeNetwork does to an allocation's network what a host reboot does:
// its namespace, veth, the bridge and every rule of the client's chains
// are gone. The tasks are left running, as no reboot would, which is the
// harder case: they are in a namespace nobody can reach any more.
func wipeNetwork(t *testing.T, names nstest.Names, allocID string) {
	t.Helper()
	nstest.Cmd(t, "ip", "netns", "del", allocID)
	nstest.Cmd(t, "ip", "link", "del", netns.HostVethName(names.VethPrefix, allocID))
	nstest.Cmd(t, "ip", "link", "del", names.Bridge)
	for _, ch := range []string{"-PREROUTING", "-OUTPUT", "-POSTROUTING"} {
		nstest.Cmd(t, "iptables", "-t", "nat", "-F", names.ChainPrefix+ch)
	}
}

// restartedForNetwork reports whether the task restarted to join a new
// namespace.
func restartedForNetwork(t *testing.T, c *api.Client, allocID, task string) error {
	a, _, err := c.Allocations().Info(allocID, nil)
	if err != nil {
		return err
	}
	ts := a.TaskStates[task]
	if ts == nil {
		return fmt.Errorf("no state for task %s", task)
	}
	for _, ev := range ts.Events {
		if strings.Contains(ev.RestartReason, "namespace was made anew") {
			return nil
		}
	}
	return fmt.Errorf("task %s has no restart event for its new namespace", task)
}

// TestBridgeNetworkAfterSimulatedReboot: with the client stopped, the
// allocation's namespace, veth, the bridge and the rules are deleted. The
// next client process builds the bridge again, gives the allocation a new
// namespace with the same address, restarts its task inside it (the old
// process is cut off in the old namespace) and the allocation answers on
// its host port again.
func TestBridgeNetworkAfterSimulatedReboot(t *testing.T) {
	dataDir := t.TempDir()
	a, names := netAgent(t, func(c *Config) { c.DevMode, c.DataDir = false, dataDir })
	c := apiClient(t, a)
	job := registerHCL(t, c, twoGroupsJob())
	allocs := runningAllocs(t, c, job.ID, 2)
	ga := allocs["a"]
	pa := mappedPort(t, ga, "http")
	readWhenUp(t, "", pa.HostAddr())
	if err := a.Shutdown(); err != nil {
		t.Fatal(err)
	}
	wipeNetwork(t, names, ga.ID)
	if _, err := nstest.ReadTCP("", pa.HostAddr()); err == nil {
		t.Fatal("still reachable after the network was wiped")
	}

	b := testAgent(t, func(cfg *Config) {
		cfg.DevMode, cfg.DataDir = false, dataDir
		cfg.Client.DisableBridge = false
		cfg.Client.BridgeNetworkName, cfg.Client.BridgeSubnet = names.Bridge, names.Subnet.String()
		cfg.Client.BridgeChainPrefix, cfg.Client.BridgeVethPrefix = names.ChainPrefix, names.VethPrefix
		cfg.Client.CNIConfigDir = t.TempDir()
	})
	cb := apiClient(t, b)
	if got := readWhenUp(t, "", pa.HostAddr()); got != "a" {
		t.Fatalf("after the restart: %q", got)
	}
	testutil.WaitFor(t, 30*time.Second, func() error { return restartedForNetwork(t, cb, ga.ID, "srv") })
	leases, _ := b.Client().NetworkLeases()
	if leases[ga.ID] != ga.NetworkStatus.Address {
		t.Fatalf("lease after the restart %q, before %q", leases[ga.ID], ga.NetworkStatus.Address)
	}
	stopAndCheckClean(t, b, cb, job.ID, runningAllocs(t, cb, job.ID, 2))
}

// TestBridgeNetworkWipedUnderRunningClient: the same, with the client
// running: its next repair round notices and does the same.
func TestBridgeNetworkWipedUnderRunningClient(t *testing.T) {
	a, names := netAgent(t, func(c *Config) { c.Client.NetworkRepairInterval = 200 * time.Millisecond })
	c := apiClient(t, a)
	job := registerHCL(t, c, twoGroupsJob())
	allocs := runningAllocs(t, c, job.ID, 2)
	ga := allocs["a"]
	pa := mappedPort(t, ga, "http")
	readWhenUp(t, "", pa.HostAddr())
	wipeNetwork(t, names, ga.ID)
	if got := readWhenUp(t, "", pa.HostAddr()); got != "a" {
		t.Fatalf("after the repair: %q", got)
	}
	testutil.WaitFor(t, 30*time.Second, func() error { return restartedForNetwork(t, c, ga.ID, "srv") })
	stopAndCheckClean(t, a, c, job.ID, runningAllocs(t, c, job.ID, 2))
}
