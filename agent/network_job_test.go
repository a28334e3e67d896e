package agent

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

// netAgent is a -dev agent whose bridge, chains and veths carry names of
// this test only. When the test ends the agent stops (its allocations are
// destroyed), the bridge is removed, and the host must look as before:
// namespaces, links and every rule with the test's names.
func netAgent(t *testing.T, mod func(*Config)) (*Agent, nstest.Names) {
	t.Helper()
	nstest.RequireRoot(t)
	n := nstest.Unique(t)
	before := nstest.Snapshot(t, n.ChainPrefix, n.Bridge, n.VethPrefix)
	var firewall string // the agent's, known once it is configured
	t.Cleanup(func() {
		br, err := netns.NewBridge(netns.BridgeConfig{Name: n.Bridge, Subnet: n.Subnet, ChainPrefix: n.ChainPrefix, VethPrefix: n.VethPrefix, Firewall: firewall}, &netns.MemLeaseStore{}, testutil.Logger(t))
		if err == nil {
			err = br.Destroy()
		}
		if err != nil {
			t.Errorf("removing the test bridge: %v", err)
		}
		nstest.AssertSame(t, before, nstest.Snapshot(t, n.ChainPrefix, n.Bridge, n.VethPrefix))
	})
	a := testAgent(t, func(c *Config) {
		c.Client.DisableBridge = false
		c.Client.BridgeNetworkName, c.Client.BridgeSubnet = n.Bridge, n.Subnet.String()
		c.Client.BridgeChainPrefix, c.Client.BridgeVethPrefix = n.ChainPrefix, n.VethPrefix
		c.Client.MinDynamicPort, c.Client.MaxDynamicPort = n.PortLo, n.PortHi
		c.Client.CNIConfigDir = t.TempDir()
		if mod != nil {
			mod(c)
		}
		firewall = c.Client.BridgeFirewall
	})
	return a, n
}

// perlServer is a task command that answers every TCP connection on port
// with reply: perl is part of every Debian system, inside exec's chroot too.
func perlServer(port, reply string) string {
	return fmt.Sprintf(`exec perl -MIO::Socket::INET -e '$s=IO::Socket::INET->new(LocalPort=>%s,Listen=>5,ReuseAddr=>1) or die $!; while($c=$s->accept){print $c "%s"; close $c}'`, port, reply)
}

// twoGroupsJob: two bridge-mode groups, each a raw_exec server on 8080
// inside its namespace, mapped to a dynamic host port.
func twoGroupsJob() string { return groupsJob("a", "b") }

// groupsJob has one such group per name; each answers with its name.
func groupsJob(names ...string) string {
	group := func(name string) string {
		return fmt.Sprintf(`
  group %q {
    network {
      mode = "bridge"
      port "http" {
        to = 8080
      }
    }
    task "srv" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "env > $${NOMAD_ALLOC_DIR}/env; %s"]
      }
    }
  }`, name, strings.ReplaceAll(perlServer("8080", name), `"`, `\"`))
	}
	out := `job "web" {
  datacenters = ["dc1"]`
	for _, n := range names {
		out += group(n)
	}
	return out + "\n}\n"
}

func registerHCL(t *testing.T, c *api.Client, hcl string) *api.Job {
	t.Helper()
	job, err := c.Jobs().Parse(&api.JobsParseRequest{JobHCL: hcl, Canonicalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Jobs().Register(job, nil, nil); err != nil {
		t.Fatal(err)
	}
	return job
}

// runningAllocs waits until the job has n running allocations with their
// network status reported, and returns them by group.
func runningAllocs(t *testing.T, c *api.Client, jobID string, n int) map[string]*api.Allocation {
	t.Helper()
	out := map[string]*api.Allocation{}
	testutil.WaitFor(t, 60*time.Second, func() error {
		stubs, _, err := c.Jobs().Allocations(jobID, false, nil)
		if err != nil {
			return err
		}
		clear(out)
		for _, s := range stubs {
			if s.ClientStatus != structs.AllocClientStatusRunning {
				return fmt.Errorf("alloc %s is %s: %s", s.ID[:8], s.ClientStatus, allocSummary(c, jobID))
			}
			a, _, err := c.Allocations().Info(s.ID, nil)
			if err != nil {
				return err
			}
			out[a.TaskGroup] = a
		}
		if len(out) != n {
			return fmt.Errorf("%d allocations running, want %d: %s", len(out), n, allocSummary(c, jobID))
		}
		return nil
	})
	return out
}

func mappedPort(t *testing.T, a *api.Allocation, label string) structs.AllocatedPortMapping {
	t.Helper()
	p, ok := a.AllocatedResources.Shared.Ports.Get(label)
	if !ok {
		t.Fatalf("alloc %s has no port %s", a.ID, label)
	}
	return p
}

// readWhenUp reads from addr until the server in the namespace answers.
func readWhenUp(t *testing.T, nsPath, addr string) string {
	t.Helper()
	var got string
	testutil.WaitFor(t, 30*time.Second, func() (err error) {
		got, err = nstest.ReadTCP(nsPath, addr)
		return err
	})
	return got
}

// stopAndCheckClean purges the job and waits until every allocation is
// complete and its network gone: no namespace, no lease.
func stopAndCheckClean(t *testing.T, a *Agent, c *api.Client, jobID string, allocs map[string]*api.Allocation) {
	t.Helper()
	if _, _, err := c.Jobs().Deregister(jobID, true, nil); err != nil {
		t.Fatal(err)
	}
	// Before the job ran, nothing on the host named its allocations; once
	// it stopped, nothing may: no namespace, veth, iptables rule or lease.
	var markers []string
	for _, al := range allocs {
		markers = append(markers, al.ID, netns.HostVethName(a.cfg.Client.BridgeVethPrefix, al.ID))
	}
	testutil.WaitFor(t, 60*time.Second, func() error {
		if h := nstest.Snapshot(t, markers...); len(h.Namespaces)+len(h.Links)+len(h.Rules) > 0 {
			return fmt.Errorf("left on the host: %+v", h)
		}
		leases, err := a.Client().NetworkLeases()
		if err != nil || len(leases) != 0 {
			return fmt.Errorf("leases left: %v %v", leases, err)
		}
		return nil
	})
}

// TestBridgeJobTwoGroups is the acceptance check: each group is
// reachable from the host on its mapped port, one group reaches the other
// only through that host port, the env carries the port and address
// variables, and stopping the job leaves nothing behind.
func TestBridgeJobTwoGroups(t *testing.T) {
	a, names := netAgent(t, nil)
	c := apiClient(t, a)
	job := registerHCL(t, c, twoGroupsJob())
	allocs := runningAllocs(t, c, job.ID, 2)
	ga, gb := allocs["a"], allocs["b"]
	pa, pb := mappedPort(t, ga, "http"), mappedPort(t, gb, "http")
	if pa.HostIP != "127.0.0.1" || pa.To != 8080 {
		t.Fatalf("port of a: %+v", pa)
	}
	if got := readWhenUp(t, "", pa.HostAddr()); got != "a" {
		t.Fatalf("group a on %s answered %q", pa.HostAddr(), got)
	}
	if got := readWhenUp(t, "", pb.HostAddr()); got != "b" {
		t.Fatalf("group b on %s answered %q", pb.HostAddr(), got)
	}
	gw := netns.Gateway(names.Subnet)
	nsA := netns.NamedPath(ga.ID)
	if got, err := nstest.ReadTCP(nsA, fmt.Sprintf("%s:%d", gw, pb.Value)); err != nil || got != "b" {
		t.Fatalf("a through b's host port: %q %v", got, err)
	}
	if got, err := nstest.ReadTCP(nsA, gb.NetworkStatus.Address+":8080"); err == nil {
		t.Fatalf("a reached b's namespace address directly: %q", got)
	}
	env := readEnvFile(t, filepath.Join(a.cfg.DataDir, "alloc", ga.ID, "alloc", "env"))
	want := map[string]string{
		"NOMAD_IP_http": "127.0.0.1", "NOMAD_PORT_http": "8080", "NOMAD_HOST_PORT_http": fmt.Sprint(pa.Value),
		"NOMAD_ADDR_http": pa.HostAddr(), "NOMAD_HOST_IP_http": "127.0.0.1", "NOMAD_HOST_ADDR_http": pa.HostAddr(),
		"NOMAD_ALLOC_PORT_http": "8080", "NOMAD_ALLOC_IP_http": ga.NetworkStatus.Address,
		"NOMAD_ALLOC_ADDR_http": ga.NetworkStatus.Address + ":8080", "NOMAD_ALLOC_INTERFACE_http": "eth0",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
	stopAndCheckClean(t, a, c, job.ID, allocs)
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	var b []byte
	testutil.WaitFor(t, 10*time.Second, func() (err error) {
		b, err = os.ReadFile(path)
		return err
	})
	out := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			out[k] = v
		}
	}
	return out
}
