package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/testutil"
)

// roamBin is the binary under test, built once by TestMain.
var roamBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "roam-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	roamBin = filepath.Join(dir, "roam")
	build := exec.Command("go", "build", "-o", roamBin, "../cmd/roam")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build roam:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// agentProc is one `roam agent` process started by a test.
type agentProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	addr    string
	dataDir string
	cfgPath string
	log     *bytes.Buffer
	done    chan struct{}
}

// freePort asks the kernel for an unused loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// serverClientConfig is a non-dev agent running both roles on loopback.
func serverClientConfig(t *testing.T, dataDir string) string {
	return serverClientConfigOn(t, dataDir, "lo")
}

// serverClientConfigOn is serverClientConfig with the node's address on
// iface (the agent's API and RPC stay on loopback).
func serverClientConfigOn(t *testing.T, dataDir, iface string) string {
	return fmt.Sprintf(`
data_dir  = %q
bind_addr = "127.0.0.1"
name      = "e2e-%d"
ports {
  http = %d
  rpc  = %d
  serf = %d
}
server {
  enabled          = true
  bootstrap_expect = 1
}
client {
  enabled                = true
  network_interface      = %q
  disable_bridge_network = true
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, dataDir, os.Getpid(), freePort(t), freePort(t), freePort(t), iface)
}

// startAgent writes cfg and runs `roam agent -config` until the test ends.
func startAgent(t *testing.T, dataDir, cfg string) *agentProc {
	t.Helper()
	cfgPath := filepath.Join(t.TempDir(), "agent.hcl")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return launch(t, dataDir, cfgPath)
}

func launch(t *testing.T, dataDir, cfgPath string) *agentProc {
	t.Helper()
	p := spawn(t, dataDir, cfgPath)
	p.waitHealthy()
	return p
}

// spawn starts `roam agent -config cfgPath` without waiting for it to be
// healthy (a server waiting for the rest of its cluster is not). The agent
// gets SIGKILL if the test process dies, so none outlives a crashed test.
func spawn(t *testing.T, dataDir, cfgPath string) *agentProc {
	t.Helper()
	p := &agentProc{t: t, dataDir: dataDir, cfgPath: cfgPath, log: &bytes.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(roamBin, "agent", "-config", cfgPath)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	// At the end of the test, a still-running agent first purges its jobs and
	// waits for their tasks to stop (agents leave tasks running when they
	// shut down, so that a restart can re-attach), then exits.
	t.Cleanup(func() {
		if p.alive() {
			stopAllJobs(t, p.api(t))
		}
		p.stop()
	})
	p.addr = "http://" + httpAddrFromConfig(t, cfgPath)
	return p
}

// waitHealthy waits until the agent's /v1/agent/health answers 200.
func (p *agentProc) waitHealthy() {
	t := p.t
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, func() error {
		select {
		case <-p.done:
			return fmt.Errorf("agent exited: %s", p.log.String())
		default:
		}
		resp, err := http.Get(p.addr + "/v1/agent/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("health %d", resp.StatusCode)
		}
		return nil
	})
}

func httpAddrFromConfig(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var port int
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "http" && f[1] == "=" {
			fmt.Sscan(f[2], &port)
		}
	}
	if port == 0 {
		t.Fatalf("no http port in %s", path)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

func (p *agentProc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits for the process (SIGKILL after 30s).
func (p *agentProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// kill SIGKILLs the agent, as a crash would.
func (p *agentProc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

func (p *agentProc) api(t *testing.T) *api.Client {
	c, err := api.NewClient(api.Config{Address: p.addr})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// roam runs the CLI against the agent and returns its output and exit code.
func (p *agentProc) roam(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, roamBin, args...)
	cmd.Env = append(os.Environ(), "ROAM_ADDR="+p.addr, "NOMAD_ADDR=")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run roam %v: %v", args, err)
	}
	return string(out), code
}

// writeJob writes a job file into a temp dir.
func writeJob(t *testing.T, name, body string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// stopAllJobs purges every job and waits until no allocation runs, so tests
// leave no task behind when their agent (which does not kill tasks on a
// normal shutdown) goes away.
func stopAllJobs(t *testing.T, c *api.Client) {
	t.Helper()
	jobs, _, err := c.Jobs().List(nil)
	if err != nil {
		t.Logf("list jobs at cleanup: %v", err)
		return
	}
	for _, j := range jobs {
		if _, _, err := c.Jobs().Deregister(j.ID, true, nil); err != nil {
			t.Logf("purge %s at cleanup: %v", j.ID, err)
		}
	}
	testutil.WaitFor(t, 60*time.Second, func() error {
		allocs, _, err := c.Allocations().List(nil)
		if err != nil {
			return err
		}
		for _, a := range allocs {
			if !a.ClientStatus.Terminal() {
				return fmt.Errorf("alloc %s still %s", a.ID[:8], a.ClientStatus)
			}
		}
		return nil
	})
}
