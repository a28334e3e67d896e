package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/testutil"
)

// host is one machine of a test network: a network namespace with one veth,
// eth0, on the test's bridge.
type host struct {
	ns   string // the namespace's name under /var/run/netns
	addr netip.Addr
	http *http.Client // opens its connections inside ns
}

// testLAN is a bridge in a namespace of its own (a switch), with hosts
// plugged into it: real TCP and UDP between the hosts, none of it through
// the machine's own interfaces or firewall.
type testLAN struct {
	t      *testing.T
	id     string
	subnet netip.Prefix
	sw     string
	next   netip.Addr
}

func newTestLAN(t *testing.T) *testLAN {
	nstest.RequireRoot(t)
	n := nstest.Unique(t) // a /24 no interface of the machine and no other test holds
	l := &testLAN{t: t, id: nstest.RandHex(3), subnet: n.Subnet, next: n.Subnet.Addr().Next()}
	l.sw = "rsw" + l.id
	l.ip("netns", "add", l.sw)
	t.Cleanup(func() { l.ip("netns", "del", l.sw) })
	l.ip("-n", l.sw, "link", "add", "br0", "type", "bridge")
	l.ip("-n", l.sw, "link", "set", "br0", "up")
	return l
}

func (l *testLAN) ip(args ...string) { nstest.Cmd(l.t, "ip", args...) }

// addHost makes a namespace with eth0 on the bridge and the next address.
// Its cleanup kills every process still in the namespace (the agent's tasks
// after an agent was SIGKILLed), by PID, then deletes it.
func (l *testLAN) addHost(name string) *host {
	h := &host{ns: "rh" + l.id + name, addr: l.next}
	l.next = l.next.Next()
	l.ip("netns", "add", h.ns)
	l.t.Cleanup(func() {
		killNamespacePids(l.t, h.ns)
		l.ip("netns", "del", h.ns)
	})
	port := "p" + name
	l.ip("-n", h.ns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", l.sw)
	l.ip("-n", l.sw, "link", "set", port, "master", "br0", "up")
	l.ip("-n", h.ns, "addr", "add", netip.PrefixFrom(h.addr, l.subnet.Bits()).String(), "dev", "eth0")
	l.ip("-n", h.ns, "link", "set", "eth0", "up")
	l.ip("-n", h.ns, "link", "set", "lo", "up")
	h.http = &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{DialContext: netns.Dialer(netns.NamedPath(h.ns), nil), DisableKeepAlives: true},
	}
	return h
}

func killNamespacePids(t *testing.T, ns string) {
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	for _, f := range strings.Fields(string(out)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Logf("kill %d in %s: %v", pid, ns, err)
			}
		}
	}
}

// Each agent listens on its own host's address; the ports repeat across
// hosts, as on real machines.
const (
	lanHTTP = 4646
	lanRPC  = 4647
	lanSerf = 4648
	lanDNS  = 8600
)

func (h *host) url(path string) string {
	return fmt.Sprintf("http://%s:%d%s", h.addr, lanHTTP, path)
}

// get GETs path from h's agent, from inside h's namespace.
func (h *host) get(path string) (int, []byte, error) {
	resp, err := h.http.Get(h.url(path))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// startLANAgent runs `roam agent` inside h's namespace (ip netns exec
// execs the agent, so the PID is the agent's) with role, the server or
// client block, and waits for its HTTP API.
// writeLANAgentConfig writes the config of an agent on a test LAN host: the
// host's address for everything, the LAN's fixed ports (each host is its own
// namespace), raw_exec enabled, and role (its server and client blocks). It
// returns the file's path.
func writeLANAgentConfig(t *testing.T, h *host, dataDir, name, role, logLevel string) string {
	t.Helper()
	cfg := fmt.Sprintf(`
data_dir  = %q
bind_addr = "%s"
name      = %q
log_level = %q
ports {
  http = %d
  rpc  = %d
  serf = %d
  dns  = %d
}
dns {
  bind_addr = "%s"
}
%s
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, dataDir, h.addr, name, logLevel, lanHTTP, lanRPC, lanSerf, lanDNS, h.addr, role)
	path := filepath.Join(t.TempDir(), "agent.hcl")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func startLANAgent(t *testing.T, h *host, name, role string) *agentProc {
	t.Helper()
	dataDir := t.TempDir()
	cfgPath := writeLANAgentConfig(t, h, dataDir, name, role, "DEBUG")
	p := &agentProc{t: t, dataDir: dataDir, cfgPath: cfgPath, log: &bytes.Buffer{}, done: make(chan struct{}), addr: h.url("")}
	p.cmd = exec.Command("ip", "netns", "exec", h.ns, roamBin, "agent", "-config", cfgPath)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	// ip execs the agent, which keeps this: it dies with the test process.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("agent %s log:\n%s", name, p.log.String())
		}
	})
	testutil.WaitFor(t, 30*time.Second, func() error {
		if !p.alive() {
			return fmt.Errorf("agent %s exited: %s", name, p.log.String())
		}
		code, _, err := h.get("/v1/agent/health")
		if err != nil {
			return err
		}
		if code != 200 {
			return fmt.Errorf("health %d", code)
		}
		return nil
	})
	return p
}

const crossJob = `
job "%[1]s" {
  datacenters = ["*"]
  constraint {
    attribute = "${node.unique.name}"
    value     = "%[2]s"
  }
  group "web" {
    count = %[3]d
    network {
      port "http" {}
    }
    service {
      name     = "%[1]s"
      provider = "nomad"
      port     = "http"
    }
    task "sleep" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// TestAcrossMachines: a service instance running on node A is answered by
// node B's agent (DNS SRV and ?choose=), with A's address and port, over
// real TCP between namespaces on a bridge, and rendered by a template of a
// task on B (both families: nomadService and service), which renders again
// when a second instance starts on A; when A's agent dies and the servers
// mark A down, the instances leave B's answers and B's rendered file.
func TestAcrossMachines(t *testing.T) {
	lan := newTestLAN(t)
	srv, a, b := lan.addHost("s"), lan.addHost("a"), lan.addHost("b")
	nodeA, nodeB := "cross-a-"+lan.id, "cross-b-"+lan.id

	startLANAgent(t, srv, "cross-s-"+lan.id, `server {
  enabled          = true
  bootstrap_expect = 1
  heartbeat_grace  = "2s"
}`)
	client := fmt.Sprintf(`client {
  enabled                = true
  servers                = ["%s:%d"]
  network_interface      = "eth0"
  disable_bridge_network = true
}`, srv.addr, lanRPC)
	agentA := startLANAgent(t, a, nodeA, client)
	agentB := startLANAgent(t, b, nodeB, client)

	svc := "cross" + lan.id
	lanJobRun(t, srv, svc, fmt.Sprintf(crossJob, svc, nodeA, 1))

	// B answers with A's address and the port A's allocation was given.
	var port int
	testutil.WaitFor(t, 60*time.Second, func() error {
		ans, err := digSRV(b, svc)
		if err != nil {
			return err
		}
		if len(ans) != 1 || ans[0].addr != a.addr.String() {
			return fmt.Errorf("B's DNS answers %+v, want A's address %s", ans, a.addr)
		}
		port = ans[0].port
		return nil
	})
	choose := func() ([]chosen, error) {
		code, body, err := b.get("/v1/service/" + svc + "?choose=1|" + "key1")
		if err != nil {
			return nil, err
		}
		if code != 200 {
			return nil, fmt.Errorf("choose: %d %s", code, body)
		}
		var got []chosen
		if err := json.Unmarshal(body, &got); err != nil {
			return nil, fmt.Errorf("choose: %w: %s", err, body)
		}
		return got, nil
	}
	got, err := choose()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].NodeID == "" || got[0].Address != a.addr.String() || got[0].Port != port {
		t.Fatalf("B's choose=1 answers %+v, want A's instance %s:%d", got, a.addr, port)
	}

	// A template on B renders A's instance, through B's agent.
	lanJobRun(t, srv, svc+"-tpl", fmt.Sprintf(crossTemplateJob, svc, nodeB))
	rendered := renderedOn(t, srv, agentB, svc+"-tpl")
	aPort := fmt.Sprintf("%s:%d", a.addr, port)
	waitRendered(t, rendered, "nomad "+aPort, "consul "+aPort)
	t.Logf("B's template rendered %q", readRendered(rendered))

	// A second instance starts on A: B's template renders both.
	lanJobRun(t, srv, svc, fmt.Sprintf(crossJob, svc, nodeA, 2))
	testutil.WaitFor(t, 60*time.Second, func() error {
		lines := readRendered(rendered)
		families := map[string]map[string]bool{}
		for _, l := range lines {
			family, addr, _ := strings.Cut(l, " ")
			if !strings.HasPrefix(addr, a.addr.String()+":") {
				return fmt.Errorf("B's template holds %q, not only A's address", lines)
			}
			if families[family] == nil {
				families[family] = map[string]bool{}
			}
			families[family][addr] = true
		}
		if len(families["nomad"]) != 2 || len(families["consul"]) != 2 || !families["nomad"][aPort] {
			return fmt.Errorf("B's template holds %q, want A's two instances in each family", lines)
		}
		return nil
	})
	t.Logf("B's template rendered again: %q", readRendered(rendered))

	// A is lost: its agent dies without a word; once the servers mark it
	// down, B answers neither in DNS nor in choose.
	agentA.kill()
	testutil.WaitFor(t, 90*time.Second, func() error {
		ans, err := digSRV(b, svc)
		if err != nil {
			return err
		}
		if len(ans) != 0 {
			return fmt.Errorf("B's DNS still answers %+v", ans)
		}
		got, err := choose()
		if err != nil {
			return err
		}
		if len(got) != 0 {
			return fmt.Errorf("B's choose still answers %+v", got)
		}
		if lines := readRendered(rendered); len(lines) != 0 {
			return fmt.Errorf("B's template still holds %q", lines)
		}
		return nil
	})
}

// crossTemplateJob runs a task on node %[2]s whose template lists the
// instances of service %[1]s, with each template family.
const crossTemplateJob = `
job "%[1]s-tpl" {
  datacenters = ["*"]
  constraint {
    attribute = "${node.unique.name}"
    value     = "%[2]s"
  }
  group "reader" {
    task "render" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
      template {
        data        = <<EOT
{{ range nomadService "%[1]s" }}nomad {{ .Address }}:{{ .Port }}
{{ end }}{{ range service "%[1]s" }}consul {{ .Address }}:{{ .Port }}
{{ end }}
EOT
        destination = "local/upstreams.txt"
        change_mode = "noop"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// lanJobRun submits the job file body through the server's agent (the
// CLI run inside its namespace) and purges the job when the test ends.
func lanJobRun(t *testing.T, srv *host, job, body string) {
	t.Helper()
	run := exec.Command("ip", "netns", "exec", srv.ns, roamBin, "job", "run", "-detach", writeJob(t, job+".hcl", body))
	run.Env = append(os.Environ(), "ROAM_ADDR="+srv.url(""), "NOMAD_ADDR=")
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("job run %s: %v\n%s", job, err, out)
	}
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, srv.url("/v1/job/"+job+"?purge=true"), nil)
		if resp, err := srv.http.Do(req); err == nil {
			resp.Body.Close()
		}
	})
}

// renderedOn waits for job's running allocation on the client agent p and
// returns the path of its rendered template file in p's data dir.
func renderedOn(t *testing.T, srv *host, p *agentProc, job string) string {
	t.Helper()
	var path string
	testutil.WaitFor(t, 60*time.Second, func() error {
		code, body, err := srv.get("/v1/job/" + job + "/allocations")
		if err != nil {
			return err
		}
		var stubs []struct{ ID, ClientStatus string }
		if code != 200 || json.Unmarshal(body, &stubs) != nil {
			return fmt.Errorf("allocations of %s: %d %s", job, code, body)
		}
		for _, s := range stubs {
			if s.ClientStatus == "running" {
				path = filepath.Join(p.dataDir, "alloc", s.ID, "render", "local", "upstreams.txt")
				return nil
			}
		}
		return fmt.Errorf("no running allocation of %s: %s", job, body)
	})
	return path
}

// readRendered is the rendered file's non-empty lines, sorted.
func readRendered(path string) []string {
	b, _ := os.ReadFile(path)
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return lines
}

// waitRendered waits until the rendered file holds exactly want.
func waitRendered(t *testing.T, path string, want ...string) {
	t.Helper()
	slices.Sort(want)
	testutil.WaitFor(t, 60*time.Second, func() error {
		if got := readRendered(path); !slices.Equal(got, want) {
			return fmt.Errorf("B's template holds %q, want %q", got, want)
		}
		return nil
	})
}

type chosen struct {
	NodeID  string
	Address string
	Port    int
}

type srvAnswer struct {
	addr string
	port int
}

// digSRV asks h's agent for svc's SRV records with dig, run inside h's
// namespace, and pairs each with the address in the additional section.
func digSRV(h *host, svc string) ([]srvAnswer, error) {
	out, err := exec.Command("ip", "netns", "exec", h.ns, "dig", "@"+h.addr.String(), "-p", fmt.Sprint(lanDNS),
		"+tries=1", "+time=2", "+noall", "+answer", "+additional", "SRV", svc+".service.consul").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("dig: %v: %s", err, out)
	}
	targets := map[string]int{}
	addrs := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 8 && f[3] == "SRV":
			var p int
			fmt.Sscan(f[6], &p)
			targets[f[7]] = p
		case len(f) == 5 && f[3] == "A":
			addrs[f[0]] = f[4]
		}
	}
	var ans []srvAnswer
	for target, p := range targets {
		ans = append(ans, srvAnswer{addr: addrs[target], port: p})
	}
	return ans, nil
}
