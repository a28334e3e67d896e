package agent

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/roam-sh/roam/drivers/exec/exectest"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/testutil"
)

// resolverJob is a bridge-mode exec task that resolves the web service
// through its own /etc/resolv.conf, as an application would (getent goes
// through glibc's resolver; dig asks for SRV), and writes what it got.
const resolverJob = `
job "resolver" {
  datacenters = ["dc1"]
  group "g" {
    network {
      mode = "bridge"
    }
    task "t" {
      driver = "exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do { getent ahostsv4 web.service.consul; dig +short SRV web.service.consul; dig +short A example.org; cat /etc/resolv.conf; } > $${NOMAD_ALLOC_DIR}/dns.tmp 2>&1; mv $${NOMAD_ALLOC_DIR}/dns.tmp $${NOMAD_ALLOC_DIR}/dns.out; sleep 0.2; done"]
      }
    }
  }
}
`

// TestBridgeTaskResolvesServices: a task in bridge mode, with no DNS
// configuration in its job, resolves <svc>.service.consul: its
// resolv.conf names the agent inside the namespace (127.0.0.1:53 there),
// and names outside the agent's domains still resolve through the host's
// resolvers (here a recursor on the host's loopback, standing in for the
// host's resolver).
func TestBridgeTaskResolvesServices(t *testing.T) {
	host := exectest.RequireIsolation(t)
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig not installed")
	}
	upstream := fakeRecursor(t)
	a, _ := netAgent(t, func(c *Config) {
		c.Client.CgroupParent = exectest.CgroupParent(t, host)
		c.DNS.Recursors = []string{upstream}
	})
	w := newSimWeb(t, a, 2)
	registerServices(t, a, w, w.instance("w1", "127.0.0.11", 8001), w.instance("w2", "127.0.0.12", 8002))
	c := apiClient(t, a)
	registerHCL(t, c, resolverJob)
	allocs := runningAllocs(t, c, "resolver", 1)
	al := allocs["g"]
	out := filepath.Join(a.cfg.DataDir, "alloc", al.ID, "alloc", "dns.out")
	if a.cfg.Client.AllocDir != "" {
		out = filepath.Join(a.cfg.Client.AllocDir, al.ID, "alloc", "dns.out")
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		b, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		s := string(b)
		for _, want := range []string{
			"127.0.0.11      STREAM web.service.consul", "127.0.0.12 ", // getent: both instances
			"1 1 8001 7f00000b.addr.dc1.consul.", "1 1 8002 7f00000c.addr.dc1.consul.", // dig SRV
			"192.0.2.1",              // a forwarded name
			"nameserver 127.0.0.1\n", // resolv.conf
		} {
			if !strings.Contains(s, want) {
				return fmt.Errorf("task's output lacks %q:\n%s", want, s)
			}
		}
		return nil
	})
	stopAndCheckClean(t, a, c, "resolver", allocs)
}

// fakeRecursor answers every A query with 192.0.2.1 on the host's loopback.
func fakeRecursor(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg).SetReply(r)
		if len(r.Question) == 1 && r.Question[0].Qtype == mdns.TypeA {
			m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: r.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60}, A: net.IP{192, 0, 2, 1}})
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// askInNamespace asks the agent's DNS at 127.0.0.1:53 inside the
// allocation's namespace, as a task there would, for web's A records.
func askInNamespace(allocID string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := netns.Dialer(netns.NamedPath(allocID), nil)(ctx, "udp", "127.0.0.1:53")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	co := &mdns.Conn{Conn: conn}
	if err := co.WriteMsg(new(mdns.Msg).SetQuestion("web.service.consul.", mdns.TypeA)); err != nil {
		return nil, err
	}
	r, err := co.ReadMsg()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*mdns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out, nil
}

func waitNamespaceDNS(t *testing.T, allocID, when string) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, func() error {
		got, err := askInNamespace(allocID)
		if err != nil || len(got) != 1 || got[0] != "127.0.0.11" {
			return fmt.Errorf("%s: DNS inside the namespace: %v %v", when, got, err)
		}
		return nil
	})
}

// TestNamespaceDNSFollowsRepair: the agent's DNS inside a bridge-mode
// allocation's namespace answers again after a repair made the namespace
// anew under a running client.
func TestNamespaceDNSFollowsRepair(t *testing.T) {
	r := startTwoGroups(t, false, func(c *Config) { c.Client.NetworkRepairInterval = 200 * time.Millisecond })
	w := newSimWeb(t, r.agent, 1)
	registerServices(t, r.agent, w, w.instance("w1", "127.0.0.11", 8001))
	waitNamespaceDNS(t, r.alloc.ID, "at start")
	wipeNetwork(t, r.names, r.alloc.ID)
	waitNamespaceDNS(t, r.alloc.ID, "after the repair")
	c := apiClient(t, r.agent)
	stopAndCheckClean(t, r.agent, c, r.job.ID, runningAllocs(t, c, r.job.ID, 2))
}
