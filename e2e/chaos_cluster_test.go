package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/testutil"
)

// chaosCluster is a cluster of server agents and client agents, each in a
// network namespace of its own on one bridge (testLAN), started from the
// binary under test. Faults act on its processes (signals) and on the
// firewall inside the server namespaces, never on the machine's own.
type chaosCluster struct {
	t       *testing.T
	bin     string
	lan     *testLAN
	servers []*chaosNode
	clients []*chaosNode
	spawn   chan spawnReq
}

// chaosNode is one agent: its host (namespace), config, data and process.
type chaosNode struct {
	name    string
	h       *host
	cfgPath string
	dataDir string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	log     *testutil.SyncBuffer
	stopped bool // SIGSTOPped
	cut     bool // partitioned away by a firewall rule
}

type spawnReq struct {
	cmd *exec.Cmd
	err chan error
}

// newChaosCluster starts servers server agents (bootstrap_expect = servers,
// each retry-joining all) and clients client agents, and waits until every
// server agrees on a leader and both clients are registered.
func newChaosCluster(t *testing.T, bin string, servers, clients int) *chaosCluster {
	t.Helper()
	c := &chaosCluster{t: t, bin: bin, lan: newTestLAN(t), spawn: make(chan spawnReq)}
	c.startSpawner()
	var join []string
	for i := range servers {
		n := &chaosNode{name: fmt.Sprintf("s%d", i+1)}
		n.h = c.lan.addHost(n.name)
		join = append(join, fmt.Sprintf("%q", fmt.Sprintf("%s:%d", n.h.addr, lanRPC)))
		c.servers = append(c.servers, n)
	}
	for i := range clients {
		n := &chaosNode{name: fmt.Sprintf("c%d", i+1)}
		n.h = c.lan.addHost(n.name)
		c.clients = append(c.clients, n)
	}
	for _, n := range c.servers {
		c.configure(n, fmt.Sprintf(`server {
  enabled          = true
  bootstrap_expect = %d
  server_join {
    retry_join = [%s]
  }
}`, servers, strings.Join(join, ", ")))
		c.start(n)
	}
	for _, n := range c.clients {
		c.configure(n, fmt.Sprintf(`client {
  enabled                = true
  servers                = [%s]
  network_interface      = "eth0"
  disable_bridge_network = true
}`, strings.Join(join, ", ")))
		c.start(n)
	}
	c.waitLeader(nil, 60*time.Second)
	c.waitClients(60 * time.Second)
	return c
}

// startSpawner starts agents from one goroutine locked to its OS thread
// for the whole test: the parent-death signal is sent when the thread that
// forked the child exits, and Go retires locked threads of other
// goroutines (netns.Do's) at will.
func (c *chaosCluster) startSpawner() {
	stop := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer close(exited)
		for {
			select {
			case r := <-c.spawn:
				r.err <- r.cmd.Start()
			case <-stop:
				return
			}
		}
	}()
	// Registered first, so it runs last: after every agent is gone.
	c.t.Cleanup(func() { close(stop); <-exited })
}

// configure writes n's agent config: its own address, per-namespace ports.
func (c *chaosCluster) configure(n *chaosNode, role string) {
	t := c.t
	n.dataDir = t.TempDir()
	n.cfgPath = writeLANAgentConfig(t, n.h, n.dataDir, n.name+"-"+c.lan.id, role, "INFO")
}

// start runs n's agent inside its namespace (ip netns exec execs the agent,
// so the PID is the agent's). It dies with the test process, and at the
// end of the test is resumed if stopped, then terminated.
func (c *chaosCluster) start(n *chaosNode) {
	t := c.t
	cmd := exec.Command("ip", "netns", "exec", n.h.ns, c.bin, "agent", "-config", n.cfgPath)
	log := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	r := spawnReq{cmd: cmd, err: make(chan error)}
	c.spawn <- r
	if err := <-r.err; err != nil {
		t.Fatalf("start %s: %v", n.name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	n.mu.Lock()
	n.cmd, n.done, n.log, n.stopped = cmd, done, log, false
	n.mu.Unlock()
	t.Cleanup(func() {
		terminate(cmd, done)
		if t.Failed() {
			t.Logf("agent %s log (last 4 KiB):\n%s", n.name, tail(log.String(), 4096))
		}
	})
}

// terminate resumes a possibly stopped agent, then SIGTERMs it and waits
// (SIGKILL after 20 s).
func terminate(cmd *exec.Cmd, done chan struct{}) {
	select {
	case <-done:
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGCONT)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// signal sends sig to n's agent, by its PID.
func (n *chaosNode) signal(sig syscall.Signal) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v to %s: %w", sig, n.name, err)
	}
	switch sig {
	case syscall.SIGSTOP:
		n.stopped = true
	case syscall.SIGCONT:
		n.stopped = false
	}
	return nil
}

// kill SIGKILLs n's agent and waits for it to be gone.
func (n *chaosNode) kill() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	cmd.Process.Kill()
	<-done
}

func (n *chaosNode) alive() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	select {
	case <-n.done:
		return false
	default:
		return !n.stopped
	}
}

func (n *chaosNode) rpcAddr() string { return fmt.Sprintf("%s:%d", n.h.addr, lanRPC) }

// leaderSeen is the leader n names ("" when none, or n does not answer).
func (n *chaosNode) leaderSeen() string {
	hc := &http.Client{Timeout: 300 * time.Millisecond, Transport: n.h.http.Transport}
	resp, err := hc.Get(n.h.url("/v1/status/leader"))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var leader string
	if json.NewDecoder(resp.Body).Decode(&leader) != nil {
		return ""
	}
	return leader
}

// leader is the server every running, connected server names as leader,
// nil while they disagree or name none.
func (c *chaosCluster) leader() *chaosNode {
	var named string
	for _, n := range c.servers {
		if !n.alive() || n.cut {
			continue
		}
		l := n.leaderSeen()
		if l == "" || (named != "" && l != named) {
			return nil
		}
		named = l
	}
	for _, n := range c.servers {
		if n.rpcAddr() == named {
			return n
		}
	}
	return nil
}

// waitLeader waits until the running, connected servers agree on a leader
// other than old, and returns it.
func (c *chaosCluster) waitLeader(old *chaosNode, limit time.Duration) *chaosNode {
	c.t.Helper()
	var l *chaosNode
	testutil.WaitFor(c.t, limit, func() error {
		l = c.leader()
		if l == nil || l == old {
			return fmt.Errorf("no agreed leader other than the old one yet")
		}
		return nil
	})
	return l
}

// waitClients waits until the servers list every client node as ready.
func (c *chaosCluster) waitClients(limit time.Duration) {
	c.t.Helper()
	testutil.WaitFor(c.t, limit, func() error {
		code, body, err := c.servers[0].h.get("/v1/nodes")
		if err != nil || code != 200 {
			return fmt.Errorf("nodes: %d %v", code, err)
		}
		var nodes []struct{ Status string }
		if err := json.Unmarshal(body, &nodes); err != nil {
			return err
		}
		ready := 0
		for _, n := range nodes {
			if n.Status == "ready" {
				ready++
			}
		}
		if ready < len(c.clients) {
			return fmt.Errorf("%d of %d clients ready", ready, len(c.clients))
		}
		return nil
	})
}

// partition cuts the servers of side off from every other server: each
// drops, inside its own namespace, what it sends to and receives from the
// other side. The clients and the test's own connections are untouched.
func (c *chaosCluster) partition(side []*chaosNode) {
	in := map[*chaosNode]bool{}
	for _, n := range side {
		in[n] = true
	}
	c.cut(func(a, b *chaosNode) bool { return in[a] != in[b] })
	for _, n := range side {
		n.cut = true
	}
}

// isolateAll cuts every server off from every other: no side holds a
// majority.
func (c *chaosCluster) isolateAll() {
	c.cut(func(a, b *chaosNode) bool { return true })
	for _, n := range c.servers {
		n.cut = true
	}
}

// cut makes every server a drop its traffic with each server b for which
// apart(a, b) holds, with one iptables-restore per namespace so that the
// partition starts at once rather than rule by rule.
func (c *chaosCluster) cut(apart func(a, b *chaosNode) bool) {
	var wg sync.WaitGroup
	for _, a := range c.servers {
		var rules strings.Builder
		rules.WriteString("*filter\n")
		for _, b := range c.servers {
			if a != b && apart(a, b) {
				fmt.Fprintf(&rules, "-A INPUT -s %s -j DROP\n-A OUTPUT -d %s -j DROP\n", b.h.addr, b.h.addr)
			}
		}
		rules.WriteString("COMMIT\n")
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("ip", "netns", "exec", a.h.ns, "iptables-restore", "--noflush")
			cmd.Stdin = strings.NewReader(rules.String())
			if out, err := cmd.CombinedOutput(); err != nil {
				c.t.Errorf("iptables-restore in %s: %v: %s", a.h.ns, err, out)
			}
		}()
	}
	wg.Wait()
}

// heal removes every partition rule.
func (c *chaosCluster) heal() {
	for _, n := range c.servers {
		runOK(c.t, "ip", "netns", "exec", n.h.ns, "iptables", "-w", "-F", "INPUT")
		runOK(c.t, "ip", "netns", "exec", n.h.ns, "iptables", "-w", "-F", "OUTPUT")
		n.cut = false
	}
}

func runOK(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}

// wipeAndRestart kills n, empties its data dir and starts it again with the
// same name and address: a server replaced by a blank machine.
func (c *chaosCluster) wipeAndRestart(n *chaosNode) {
	n.kill()
	entries, err := os.ReadDir(n.dataDir)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(n.dataDir, e.Name())); err != nil {
			c.t.Fatal(err)
		}
	}
	c.start(n)
}

// hostClient is an HTTP client that opens its connections in n's
// namespace, with a deadline per request.
func (n *chaosNode) hostClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{DialContext: netns.Dialer(netns.NamedPath(n.h.ns), nil), DisableKeepAlives: true},
	}
}
