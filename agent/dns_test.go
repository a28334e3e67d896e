package agent

import (
	"fmt"
	"net"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// digShort runs dig against addr and returns its +short lines, sorted, and
// its status (NOERROR, NXDOMAIN…).
func digShort(t *testing.T, addr, qtype, name string, extra ...string) ([]string, string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	args := append([]string{"@" + host, "-p", port, "+tries=1", "+time=5", qtype, name}, extra...)
	out, err := exec.Command("dig", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %v: %v\n%s", args, err, out)
	}
	status := ""
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if i := strings.Index(l, "status: "); i >= 0 {
			status = strings.TrimSuffix(strings.Fields(l[i+8:])[0], ",")
		}
		if f := strings.Fields(l); len(f) >= 5 && !strings.HasPrefix(l, ";") && f[3] == qtype {
			lines = append(lines, strings.Join(f[4:], " "))
		}
	}
	sort.Strings(lines)
	return lines, status
}

// registerServices registers instances of w's allocations, as w's client.
func registerServices(t *testing.T, a *Agent, w *simWeb, regs ...*structs.ServiceRegistration) {
	t.Helper()
	var reply structs.GenericResponse
	if err := a.rpc.RPC(structs.MethodServiceRegistrationUpsert, &structs.ServiceRegistrationUpsertRequest{Services: regs, WriteRequest: w.write()}, &reply); err != nil {
		t.Fatal(err)
	}
}

// TestAgentDNS: a dev agent answers SRV and A for registered instances
// (dig from the host), drops an instance whose check turns critical, and
// answers NXDOMAIN once the service is gone.
func TestAgentDNS(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig not installed")
	}
	a := testAgent(t, nil)
	addr := a.DNSAddr()
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("dev DNS address %q, want loopback", addr)
	}
	w := newSimWeb(t, a, 2)
	registerServices(t, a, w, w.instance("w1", "127.0.0.11", 8001), w.instance("w2", "127.0.0.12", 8002))
	srv, status := digShort(t, addr, "SRV", "web.service.consul")
	if status != "NOERROR" || strings.Join(srv, ",") != "1 1 8001 7f00000b.addr.dc1.consul.,1 1 8002 7f00000c.addr.dc1.consul." {
		t.Fatalf("SRV: %s %v", status, srv)
	}
	if as, _ := digShort(t, addr, "A", "v1.web.service.roam"); strings.Join(as, ",") != "127.0.0.11,127.0.0.12" {
		t.Fatalf("A: %v", as)
	}
	if as, _ := digShort(t, addr, "A", a.cfg.NodeName+".node.consul"); len(as) != 1 {
		t.Fatalf("node A: %v", as)
	}

	var reply structs.GenericResponse
	upd := &structs.ServiceRegistrationUpdateHealthRequest{Updates: []*structs.ServiceHealthUpdate{{ID: "w1", Health: structs.HealthCritical}}, WriteRequest: w.write()}
	if err := a.rpc.RPC(structs.MethodServiceRegistrationUpdateHealth, upd, &reply); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		if as, _ := digShort(t, addr, "A", "web.service.consul"); strings.Join(as, ",") != "127.0.0.12" {
			return fmt.Errorf("A after w1 turned critical: %v", as)
		}
		return nil
	})

	del := &structs.ServiceRegistrationDeleteRequest{IDs: []string{"w1", "w2"}, WriteRequest: w.write()}
	if err := a.rpc.RPC(structs.MethodServiceRegistrationDelete, del, &reply); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		if _, status := digShort(t, addr, "SRV", "web.service.consul"); status != "NXDOMAIN" {
			return fmt.Errorf("status %s after deregistration, want NXDOMAIN", status)
		}
		return nil
	})
}

// TestClientAgentDNS: a client-only agent answers from the servers'
// catalog through its cache, and sees a new instance without being asked
// to refresh (the blocking query wakes it).
func TestClientAgentDNS(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig not installed")
	}
	a := testAgent(t, nil)
	b := testAgent(t, func(c *Config) {
		c.Server.Enabled = false
		c.Client.Servers = []string{a.Server().LocalAddr()}
	})
	w := newSimWeb(t, a, 2)
	registerServices(t, a, w, w.instance("w1", "127.0.0.11", 8001))
	if as, _ := digShort(t, b.DNSAddr(), "A", "web.service.consul"); strings.Join(as, ",") != "127.0.0.11" {
		t.Fatalf("client agent A: %v", as)
	}
	registerServices(t, a, w, w.instance("w2", "127.0.0.12", 8002))
	testutil.WaitFor(t, 5*time.Second, func() error {
		if as, _ := digShort(t, b.DNSAddr(), "A", "web.service.consul"); strings.Join(as, ",") != "127.0.0.11,127.0.0.12" {
			return fmt.Errorf("client agent A after a second registration: %v", as)
		}
		return nil
	})
}

func TestDNSConfigFile(t *testing.T) {
	c := DevConfig()
	f := writeFile(t, t.TempDir(), "dns.hcl", `
ports { dns = 8653 }
dns {
  domain      = "example"
  alt_domain  = ""
  service_ttl = "10s"
  recursors   = ["192.0.2.53"]
}`)
	if err := loadConfigPaths(c, []string{f}); err != nil {
		t.Fatal(err)
	}
	if c.Ports.DNS != 8653 || c.DNS.Domain != "example" || c.DNS.AltDomain != "" || c.DNS.ServiceTTL != 10*time.Second || c.DNS.Recursors[0] != "192.0.2.53" || !c.DNS.portSet {
		t.Fatalf("parsed %+v ports %+v", c.DNS, c.Ports)
	}
	for _, bad := range []string{`dns { service_ttl = "soon" }`, `dns { recursors = ["resolver"] }`, `dns { domain = "a..b" }`, `dns { bind_addr = "localhost" }`} {
		c := DevConfig()
		err := loadConfigPaths(c, []string{writeFile(t, t.TempDir(), "dns.hcl", bad)})
		if err == nil {
			err = c.Validate()
		}
		if err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
