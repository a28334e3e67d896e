package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/doctor"
	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/testutil"
)

// devPortsConfig gives a -dev agent ports of its own and, unless bridge is
// set, no bridge (the bridge tests name theirs).
func devPortsConfig(t *testing.T, extraClient string) string {
	t.Helper()
	cfg := fmt.Sprintf(`
ports {
  http = %d
  rpc  = %d
  serf = %d
}
client {
  network_interface = "lo"
%s}
`, freePort(t), freePort(t), freePort(t), extraClient)
	p := filepath.Join(t.TempDir(), "dev.hcl")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDevAgentSignalDuringStartup: SIGINT sent while `roam agent -dev` is
// still starting (its server up, its client not yet ready) shuts it down
// cleanly: it exits with status 0 and removes its temporary data dir,
// rather than dying half-started with its state left behind.
func TestDevAgentSignalDuringStartup(t *testing.T) {
	tmp := t.TempDir()
	cfg := devPortsConfig(t, "  disable_bridge_network = true\n")
	var out testutil.SyncBuffer
	cmd := exec.Command(roamBin, "agent", "-dev", "-config", cfg)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	// The server logs its start before the client is built and before the
	// agent reports ready: a signal now arrives during start-up.
	testutil.WaitFor(t, 30*time.Second, func() error {
		if !strings.Contains(out.String(), "server started") {
			return fmt.Errorf("server not started yet")
		}
		return nil
	})
	if strings.Contains(out.String(), "agent ready") {
		t.Skip("the agent was ready before the signal could be sent")
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("agent exit after SIGINT during start-up: %v\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("agent still running 60s after SIGINT:\n%s", out.String())
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "roam-dev-*"))
	if len(left) > 0 {
		t.Errorf("dev data dir left behind: %v", left)
	}
}

// devAgent is a `roam agent -dev` process with its temporary data dir
// under tmp.
type devAgent struct {
	cmd  *exec.Cmd
	out  *testutil.SyncBuffer
	done chan error
	addr string
}

func startDevAgent(t *testing.T, tmp, cfg string) *devAgent {
	t.Helper()
	d := &devAgent{out: &testutil.SyncBuffer{}, done: make(chan error, 1)}
	d.cmd = exec.Command(roamBin, "agent", "-dev", "-config", cfg)
	d.cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() { d.stop(t) })
	d.addr = "http://" + httpAddrFromConfig(t, cfg)
	testutil.WaitFor(t, 30*time.Second, func() error {
		if !strings.Contains(d.out.String(), "agent ready") {
			return fmt.Errorf("not ready:\n%s", d.out.String())
		}
		return nil
	})
	return d
}

// stop sends SIGINT, as Ctrl-C does, and waits for the agent to exit.
func (d *devAgent) stop(t *testing.T) {
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("dev agent exit after SIGINT: %v\n%s", err, d.out.String())
		}
	case <-time.After(60 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		t.Errorf("dev agent still running 60s after SIGINT")
	}
}

func (d *devAgent) roam(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(roamBin, args...)
	cmd.Env = append(os.Environ(), "ROAM_ADDR="+d.addr, "NOMAD_ADDR=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("roam %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// answeringJob is a bridge-mode job whose one group answers reply on its
// mapped port.
func answeringJob(t *testing.T, id, reply string) string {
	return writeJob(t, id+".nomad", fmt.Sprintf(`
job %q {
  datacenters = ["dc1"]
  group "g" {
    network {
      mode = "bridge"
      port "web" {
        to = 8080
      }
    }
    task "web" {
      driver = "raw_exec"
      config {
        command = "perl"
        args    = ["-MIO::Socket::INET", "-e", "$s=IO::Socket::INET->new(LocalPort=>8080,Listen=>5,ReuseAddr=>1) or die $!; while($c=$s->accept){print $c '%s'; close $c}"]
      }
    }
  }
}`, id, reply))
}

// killJobTasks SIGKILLs the processes of the job's tasks (what a SIGKILLed
// agent leaves running).
func killJobTasks(jobID string) {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !strings.Contains("\x00"+string(env), "\x00NOMAD_JOB_ID="+jobID+"\x00") {
			continue
		}
		var pid int
		fmt.Sscan(filepath.Base(d), &pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// TestDevAgentAfterSIGKILLedOne: a -dev agent is SIGKILLed while its
// bridge job maps a host port; a second -dev agent maps the same port for
// its own job. The second removes what the first left (its allocation's
// DNAT rules, veth and namespace), so its port answers with its own task;
// Ctrl-C on it then leaves no namespace, link or rule of either behind.
func TestDevAgentAfterSIGKILLedOne(t *testing.T) {
	nstest.RequireRoot(t)
	n := nstest.Unique(t)
	before := nstest.Snapshot(t, n.ChainPrefix, n.Bridge, n.VethPrefix)
	tmp := t.TempDir()
	testutil.CleanupMounts(t, tmp)
	// One dynamic port: both agents map their job to it.
	client := fmt.Sprintf(`  bridge_network_name         = %q
  bridge_network_subnet       = %q
  bridge_network_chain_prefix = %q
  bridge_network_veth_prefix  = %q
  cni_config_dir              = %q
  min_dynamic_port            = %d
  max_dynamic_port            = %d
`, n.Bridge, n.Subnet, n.ChainPrefix, n.VethPrefix, t.TempDir(), n.PortLo, n.PortLo)
	hostPort := fmt.Sprintf("127.0.0.1:%d", n.PortLo)

	first := startDevAgent(t, tmp, devPortsConfig(t, client))
	jobA := "killed-" + nstest.RandHex(3)
	t.Cleanup(func() { killJobTasks(jobA) })
	first.roam(t, "job", "run", "-detach", answeringJob(t, jobA, "first"))
	if got := answer(t, hostPort); got != "first" {
		t.Fatalf("first agent's job answers %q", got)
	}
	allocsA, _, err := apiAt(t, first.addr).Jobs().Allocations(jobA, false, nil)
	if err != nil || len(allocsA) != 1 {
		t.Fatalf("first agent's allocations: %v %v", allocsA, err)
	}
	stale := allocsA[0].ID
	first.cmd.Process.Kill()
	<-first.done
	first.done <- nil
	cfgB := devPortsConfig(t, client)
	if c := doctorCheck(t, cfgB, "leftovers"); c.Status != doctor.Warn || !strings.Contains(c.Detail, stale) {
		t.Errorf("node doctor after a SIGKILLed agent: %+v, want a warning naming allocation %s", c, stale)
	}

	second := startDevAgent(t, tmp, cfgB)
	jobB := "next-" + nstest.RandHex(3)
	second.roam(t, "job", "run", "-detach", answeringJob(t, jobB, "second"))
	if got := answer(t, hostPort); got != "second" {
		t.Errorf("after a SIGKILLed agent, the next agent's port answers %q, want its own task's %q", got, "second")
	}
	left := nstest.Snapshot(t, stale, netns.HostVethName(n.VethPrefix, stale))
	if len(left.Namespaces)+len(left.Links)+len(left.Rules) > 0 {
		t.Errorf("the SIGKILLed agent's allocation left %+v", left)
	}
	second.stop(t)
	nstest.AssertSame(t, before, nstest.Snapshot(t, n.ChainPrefix, n.Bridge, n.VethPrefix))
}

// doctorCheck runs `roam node doctor -dev -json` with the agent config
// and returns the check of that name.
func doctorCheck(t *testing.T, cfg, name string) doctor.Check {
	t.Helper()
	out, _ := exec.Command(roamBin, "node", "doctor", "-dev", "-config", cfg, "-json").Output()
	var checks []doctor.Check
	if err := json.Unmarshal(out, &checks); err != nil {
		t.Fatalf("node doctor -json: %v\n%s", err, out)
	}
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("node doctor has no %q check:\n%s", name, out)
	return doctor.Check{}
}

func apiAt(t *testing.T, addr string) *api.Client {
	c, err := api.NewClient(api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
