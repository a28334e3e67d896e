package agent

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/drivers/exec/exectest"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/testutil"
)

// TestBridgeNetworkRepairedAfterClientRestart: the client stops (leaving
// its tasks, as a crash would), the allocation's veth and rules are deleted
// by hand, and the next client process finds the allocation and repairs
// its network: reachable again, same address.
func TestBridgeNetworkRepairedAfterClientRestart(t *testing.T) {
	r := startTwoGroups(t, true)
	if err := r.agent.Shutdown(); err != nil {
		t.Fatal(err)
	}
	nstest.Cmd(t, "ip", "link", "del", netns.HostVethName(r.names.VethPrefix, r.alloc.ID))
	flushNAT(t, r.names)
	if _, err := nstest.ReadTCP("", r.port.HostAddr()); err == nil {
		t.Fatal("still reachable after the veth and rules were deleted")
	}
	r.restartAndCheck(t, false)
}

// sameGroupJob is seeds/jobs/hello-same-group.nomad in bridge mode with
// exec tasks for the containers: "app" reaches "redis" on localhost, in
// the namespace both share; it also shows the dns block and hostname.
const sameGroupJob = `
job "hello" {
  datacenters = ["dc1"]
  group "app" {
    network {
      mode     = "bridge"
      hostname = "hello-app"
      dns {
        servers  = ["192.0.2.53"]
        searches = ["roam.test"]
        options  = ["ndots:2"]
      }
      port "app" {
        to = 8080
      }
      port "redis" {
        to = 6379
      }
    }
    task "redis" {
      driver = "exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "REDIS"]
      }
    }
    task "app" {
      driver = "exec"
      env {
        DEMO_REDIS_ADDR = "localhost:${NOMAD_PORT_redis}"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "cat /etc/resolv.conf /etc/hosts > $${NOMAD_ALLOC_DIR}/etc.txt; hostname >> $${NOMAD_ALLOC_DIR}/etc.txt; while ! perl -MIO::Socket::INET -e '$c=IO::Socket::INET->new($ENV{DEMO_REDIS_ADDR}) or exit 1; print <$c>' > $${NOMAD_ALLOC_DIR}/from-redis; do sleep 0.2; done; exec sleep 300"]
      }
    }
  }
}
`

func TestSameGroupTasksShareLocalhostAndEtcFiles(t *testing.T) {
	host := exectest.RequireIsolation(t)
	a, _ := netAgent(t, func(c *Config) { c.Client.CgroupParent = exectest.CgroupParent(t, host) })
	c := apiClient(t, a)
	hcl := strings.Replace(sameGroupJob, "REDIS", strings.ReplaceAll(perlServer("6379", "PONG"), `"`, `\"`), 1)
	job := registerHCL(t, c, hcl)
	allocs := runningAllocs(t, c, job.ID, 1)
	dir := filepath.Join(a.cfg.DataDir, "alloc", allocs["app"].ID, "alloc")
	testutil.WaitFor(t, 30*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(dir, "from-redis"))
		if err != nil || string(b) != "PONG" {
			return fmt.Errorf("from-redis %q %v: %s", b, err, allocSummary(c, job.ID))
		}
		return nil
	})
	b, _ := os.ReadFile(filepath.Join(dir, "etc.txt"))
	for _, want := range []string{"nameserver 192.0.2.53", "search roam.test", "options ndots:2", allocs["app"].NetworkStatus.Address + "\thello-app", "\nhello-app\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("resolv.conf/hosts/hostname lack %q:\n%s", want, b)
		}
	}
	stopAndCheckClean(t, a, c, job.ID, allocs)
}

// TestNoneModeHasOnlyLoopback: mode "none" gives a namespace with lo only.
func TestNoneModeHasOnlyLoopback(t *testing.T) {
	a, _ := netAgent(t, nil)
	c := apiClient(t, a)
	job := registerHCL(t, c, `
job "isolated" {
  datacenters = ["dc1"]
  group "g" {
    network {
      mode = "none"
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "cat /proc/net/dev > $${NOMAD_ALLOC_DIR}/dev; exec sleep 300"]
      }
    }
  }
}`)
	allocs := runningAllocs(t, c, job.ID, 1)
	var b []byte
	testutil.WaitFor(t, 10*time.Second, func() (err error) {
		b, err = os.ReadFile(filepath.Join(a.cfg.DataDir, "alloc", allocs["g"].ID, "alloc", "dev"))
		return err
	})
	var ifaces []string
	for _, l := range strings.Split(string(b), "\n")[2:] {
		if name, _, ok := strings.Cut(strings.TrimSpace(l), ":"); ok {
			ifaces = append(ifaces, name)
		}
	}
	if len(ifaces) != 1 || ifaces[0] != "lo" {
		t.Fatalf("interfaces in a none-mode namespace: %v", ifaces)
	}
	stopAndCheckClean(t, a, c, job.ID, allocs)
}

const staticJob = `
job %q {
  datacenters = ["dc1"]
  group "g" {
    network {
      mode = "bridge"
      port "http" {
        static = %d
        to     = 8080
      }
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "%s"]
      }
    }
  }
}`

// TestStaticPortOnHostAndCollision: a static port is mapped on the host;
// a second job asking for it is refused with the reason.
func TestStaticPortOnHostAndCollision(t *testing.T) {
	a, _ := netAgent(t, nil)
	c := apiClient(t, a)
	port := nstest.FreePort(t, 40000, 45000)
	srv := strings.ReplaceAll(perlServer("8080", "static"), `"`, `\"`)
	job := registerHCL(t, c, fmt.Sprintf(staticJob, "first", port, srv))
	allocs := runningAllocs(t, c, job.ID, 1)
	if got := readWhenUp(t, "", fmt.Sprintf("127.0.0.1:%d", port)); got != "static" {
		t.Fatalf("static port answered %q", got)
	}
	second, err := c.Jobs().Parse(&jobsParse{JobHCL: fmt.Sprintf(staticJob, "second", port, srv), Canonicalize: true})
	if err != nil {
		t.Fatal(err)
	}
	plan, _, err := c.Jobs().Plan(second, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := plan.FailedTGAllocs["g"]
	want := fmt.Sprintf("network: reserved port collision http=%d", port)
	if m == nil || m.DimensionExhausted[want] != 1 {
		t.Fatalf("plan of a colliding static port: %+v, want dimension %q", m, want)
	}
	stopAndCheckClean(t, a, c, job.ID, allocs)
}

// TestDynamicPortsAvoidListeningSockets: with a dynamic range of four
// ports, three held by sockets of the test, the allocation gets the fourth.
func TestDynamicPortsAvoidListeningSockets(t *testing.T) {
	lo := nstest.FreePort(t, 45000, 50000) / 4 * 4
	var held []int
	for p := lo; p < lo+4; p++ {
		if len(held) == 3 {
			break
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		t.Cleanup(func() { ln.Close() })
		held = append(held, p)
	}
	if len(held) != 3 {
		t.Skip("could not hold three ports of the range")
	}
	a, _ := netAgent(t, func(c *Config) { c.Client.MinDynamicPort, c.Client.MaxDynamicPort = lo, lo+3 })
	c := apiClient(t, a)
	job := registerHCL(t, c, groupsJob("a"))
	allocs := runningAllocs(t, c, job.ID, 1)
	p := mappedPort(t, allocs["a"], "http")
	for _, h := range held {
		if p.Value == h {
			t.Fatalf("dynamic port %d is held by a listening socket (held %v)", p.Value, held)
		}
	}
	if got := readWhenUp(t, "", p.HostAddr()); got != "a" {
		t.Fatalf("on %s: %q", p.HostAddr(), got)
	}
	stopAndCheckClean(t, a, c, job.ID, allocs)
}

type jobsParse = api.JobsParseRequest

// TestPortOnSecondHostNetwork: a veth end carrying 127.0.0.2/32 is a second
// host interface, offered as host_network "second"; a port asking for it is
// mapped on 127.0.0.2 only.
func TestPortOnSecondHostNetwork(t *testing.T) {
	nstest.RequireRoot(t)
	link := "rs" + nstest.RandHex(3)
	nstest.Cmd(t, "ip", "link", "add", link, "type", "veth", "peer", "name", link+"p")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", link).Run() })
	nstest.Cmd(t, "ip", "addr", "add", "127.0.0.2/32", "dev", link)
	nstest.Cmd(t, "ip", "link", "set", link, "up")
	a, _ := netAgent(t, func(c *Config) {
		c.Client.HostNetworks["second"] = HostNetwork{Interface: link}
	})
	c := apiClient(t, a)
	hcl := strings.Replace(groupsJob("a"), `to = 8080`, "to = 8080\n        host_network = \"second\"", 1)
	job := registerHCL(t, c, hcl)
	allocs := runningAllocs(t, c, job.ID, 1)
	p := mappedPort(t, allocs["a"], "http")
	if p.HostIP != "127.0.0.2" {
		t.Fatalf("port on host network second: %+v", p)
	}
	if got := readWhenUp(t, "", p.HostAddr()); got != "a" {
		t.Fatalf("on %s: %q", p.HostAddr(), got)
	}
	if got, err := nstest.ReadTCP("", fmt.Sprintf("127.0.0.1:%d", p.Value)); err == nil {
		t.Fatalf("also reachable on 127.0.0.1: %q", got)
	}
	missing := strings.Replace(hcl, `"second"`, `"public"`, 1)
	pj, err := c.Jobs().Parse(&jobsParse{JobHCL: missing, Canonicalize: true})
	if err != nil {
		t.Fatal(err)
	}
	plan, _, err := c.Jobs().Plan(pj, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := plan.FailedTGAllocs["a"]; m == nil || m.ConstraintFiltered[`missing host network "public" for port "http"`] == 0 {
		t.Fatalf("plan for a host network no node has: %+v", m)
	}
	stopAndCheckClean(t, a, c, job.ID, allocs)
}

// TestStaticPortHeldOnHostFailsWithReason: a static port a process outside
// roam already listens on is reported by the node as reserved, so
// placement refuses it and says why, rather than placing a task that
// could not bind.
func TestStaticPortHeldOnHostFailsWithReason(t *testing.T) {
	port := nstest.FreePort(t, 45001, 50000)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, _ := netAgent(t, nil)
	c := apiClient(t, a)
	job, err := c.Jobs().Parse(&api.JobsParseRequest{JobHCL: fmt.Sprintf(staticJob, "held", port, "sleep 300"), Canonicalize: true})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("network: reserved port collision http=%d", port)
	plan, _, err := c.Jobs().Plan(job, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := plan.FailedTGAllocs["g"]
	if m == nil || m.DimensionExhausted[want]+m.ConstraintFiltered[want] == 0 {
		t.Fatalf("plan of a static port held on the host: %+v, want %q", m, want)
	}
}
