package agent

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// twoGroupsRun is the two-group bridge job running on an agent with its
// own bridge, and group "a"'s allocation and mapped port.
type twoGroupsRun struct {
	agent   *Agent
	dataDir string
	names   nstest.Names
	job     *api.Job
	alloc   *api.Allocation
	port    structs.AllocatedPortMapping
}

// startTwoGroups runs the two-group job and waits until group "a" answers;
// persistent agents keep their data dir, so another can take over.
func startTwoGroups(t *testing.T, persistent bool, mod ...func(*Config)) *twoGroupsRun {
	r := &twoGroupsRun{dataDir: t.TempDir()}
	r.agent, r.names = netAgent(t, func(c *Config) {
		if persistent {
			c.DevMode, c.DataDir = false, r.dataDir
		}
		for _, m := range mod {
			m(c)
		}
	})
	c := apiClient(t, r.agent)
	r.job = registerHCL(t, c, twoGroupsJob())
	r.alloc = runningAllocs(t, c, r.job.ID, 2)["a"]
	r.port = mappedPort(t, r.alloc, "http")
	readWhenUp(t, "", r.port.HostAddr())
	return r
}

// restartAndCheck starts another client on the run's data dir and bridge:
// group "a" answers again at the same address (its task restarted into a
// new namespace when rejoined), and stopping the job leaves nothing.
func (r *twoGroupsRun) restartAndCheck(t *testing.T, rejoined bool) {
	b := testAgent(t, func(cfg *Config) {
		cfg.DevMode, cfg.DataDir = false, r.dataDir
		cfg.Client.DisableBridge = false
		cfg.Client.BridgeNetworkName, cfg.Client.BridgeSubnet = r.names.Bridge, r.names.Subnet.String()
		cfg.Client.BridgeChainPrefix, cfg.Client.BridgeVethPrefix = r.names.ChainPrefix, r.names.VethPrefix
		cfg.Client.MinDynamicPort, cfg.Client.MaxDynamicPort = r.names.PortLo, r.names.PortHi
		cfg.Client.CNIConfigDir = t.TempDir()
	})
	cb := apiClient(t, b)
	if got := readWhenUp(t, "", r.port.HostAddr()); got != "a" {
		t.Fatalf("after the restart: %q", got)
	}
	if rejoined {
		testutil.WaitFor(t, 30*time.Second, func() error { return restartedForNetwork(t, cb, r.alloc.ID, "srv") })
	}
	leases, _ := b.Client().NetworkLeases()
	if leases[r.alloc.ID] != r.alloc.NetworkStatus.Address {
		t.Fatalf("lease after the restart %q, before %q", leases[r.alloc.ID], r.alloc.NetworkStatus.Address)
	}
	stopAndCheckClean(t, b, cb, r.job.ID, runningAllocs(t, cb, r.job.ID, 2))
}

func flushNAT(t *testing.T, names nstest.Names) {
	for _, ch := range []string{"-PREROUTING", "-OUTPUT", "-POSTROUTING"} {
		nstest.Cmd(t, "iptables", "-t", "nat", "-F", names.ChainPrefix+ch)
	}
}

// wipeNetwork does to an allocation's network what a host reboot does:
// its namespace, veth, the bridge and every rule of the client's chains
// are gone. The tasks are left running, as no reboot would, which is the
// harder case: they are in a namespace nobody can reach any more.
func wipeNetwork(t *testing.T, names nstest.Names, allocID string) {
	t.Helper()
	path := netns.NamedPath(allocID)
	before := netns.Identity(path)
	// A running client's repair may make the namespace again between ip's
	// unmount and its unlink, which then fails (busy): the namespace was
	// still replaced, which is what this simulates.
	if out, err := exec.Command("ip", "netns", "del", allocID).CombinedOutput(); err != nil && netns.Identity(path) == before {
		t.Fatalf("ip netns del %s: %v: %s", allocID, err, out)
	}
	// The host end of the veth dies with its peer in the namespace, which
	// the kernel tears down after the unlink, so it may be gone already.
	veth := netns.HostVethName(names.VethPrefix, allocID)
	if out, err := exec.Command("ip", "link", "del", veth).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find device") {
		t.Fatalf("ip link del %s: %v: %s", veth, err, out)
	}
	nstest.Cmd(t, "ip", "link", "del", names.Bridge)
	flushNAT(t, names)
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
	r := startTwoGroups(t, true)
	if err := r.agent.Shutdown(); err != nil {
		t.Fatal(err)
	}
	wipeNetwork(t, r.names, r.alloc.ID)
	if _, err := nstest.ReadTCP("", r.port.HostAddr()); err == nil {
		t.Fatal("still reachable after the network was wiped")
	}
	r.restartAndCheck(t, true)
}

// TestBridgeNetworkWipedUnderRunningClient: the same, with the client
// running: its next repair round notices and does the same.
func TestBridgeNetworkWipedUnderRunningClient(t *testing.T) {
	r := startTwoGroups(t, false, func(c *Config) { c.Client.NetworkRepairInterval = 200 * time.Millisecond })
	wipeNetwork(t, r.names, r.alloc.ID)
	if got := readWhenUp(t, "", r.port.HostAddr()); got != "a" {
		t.Fatalf("after the repair: %q", got)
	}
	c := apiClient(t, r.agent)
	testutil.WaitFor(t, 30*time.Second, func() error { return restartedForNetwork(t, c, r.alloc.ID, "srv") })
	stopAndCheckClean(t, r.agent, c, r.job.ID, runningAllocs(t, c, r.job.ID, 2))
}

// nftRuleTags lists the comments of the rules in roam's nftables table of
// the test's chain prefix.
func nftRuleTags(t *testing.T, names nstest.Names) []string {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	table := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: strings.ToLower(names.ChainPrefix)}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, ch := range chains {
		if ch.Table.Name != table.Name {
			continue
		}
		rules, err := c.GetRules(table, ch)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			if s, ok := userdata.GetString(r.UserData, userdata.TypeComment); ok {
				tags = append(tags, s)
			}
		}
	}
	return tags
}

// TestBridgeWithNftablesBackend: bridge_network_firewall = "nftables" puts
// the rules in roam's own nftables table: the job's groups answer on their
// host ports, each allocation's DNAT rules are tagged with its ID, and
// stopping the job removes them (and the rest, checked by
// stopAndCheckClean); the agent's bridge removal at the end removes the
// table. (Forwarding between allocations is not exercised here: Docker's
// iptables FORWARD policy on this host drops what another table accepts,
// which is why auto prefers iptables where it is installed; the netns
// package tests it on a host namespace of its own.)
func TestBridgeWithNftablesBackend(t *testing.T) {
	r := startTwoGroups(t, false, func(c *Config) { c.Client.BridgeFirewall = "nftables" })
	c := apiClient(t, r.agent)
	allocs := runningAllocs(t, c, r.job.ID, 2)
	for name, al := range allocs {
		if got := readWhenUp(t, "", mappedPort(t, al, "http").HostAddr()); got != name {
			t.Fatalf("group %s answered %q", name, got)
		}
	}
	tags := nftRuleTags(t, r.names)
	for _, al := range allocs {
		if !slices.Contains(tags, "roam alloc "+al.ID) {
			t.Fatalf("no nftables rule tagged with alloc %s among %v", al.ID, tags)
		}
	}
	stopAndCheckClean(t, r.agent, c, r.job.ID, allocs)
	for _, tag := range nftRuleTags(t, r.names) {
		if strings.HasPrefix(tag, "roam alloc ") {
			t.Fatalf("allocation rule %q left after stop", tag)
		}
	}
}
