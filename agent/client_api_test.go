package agent

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// testAgent starts a -dev style agent on loopback with kernel-chosen ports;
// mod adjusts its configuration. It shuts down when the test ends.
func testAgent(t *testing.T, mod func(*Config)) *Agent {
	t.Helper()
	cfg := DevConfig()
	cfg.DataDir = t.TempDir()
	cfg.Ports = Ports{}
	cfg.NodeName = "node-" + structs.GenerateUUID()[:8]
	cfg.Server.NumSchedulers = 1
	cfg.Client.Executor = executortest.Binary()
	// Networking tests name their own bridge (network_job_test.go).
	cfg.Client.DisableBridge = true
	if mod != nil {
		mod(cfg)
	}
	testutil.CleanupMounts(t, cfg.DataDir)
	a, err := New(cfg, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A test that failed half-way leaves its tasks and networks to an
		// agent that is not dev: stop them, or they outlive the test.
		if t.Failed() && a.client != nil && !a.cfg.DevMode {
			select {
			case <-a.clientDone: // shut down by the test: its tasks are the next agent's
			default:
				a.destroyAllocs(30 * time.Second)
			}
		}
		_ = a.Shutdown()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return a
}

func apiClient(t *testing.T, a *Agent) *api.Client {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// loggingJob runs on the named node and logs a greeting.
func loggingJob(id, node string) string {
	return fmt.Sprintf(`
job %q {
  datacenters = ["dc1"]
  constraint {
    attribute = "${node.unique.name}"
    value     = %q
  }
  group "g" {
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo hello from $NOMAD_ALLOC_ID; echo $$ >&2; printf 'data\n' > local/file.txt; exec sleep 300"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}`, id, node)
}

func runJob(t *testing.T, c *api.Client, src string) *api.Allocation {
	t.Helper()
	job, err := c.Jobs().Parse(&api.JobsParseRequest{JobHCL: src, Canonicalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Jobs().Register(job, nil, nil); err != nil {
		t.Fatal(err)
	}
	var al *api.Allocation
	testutil.WaitFor(t, 30*time.Second, func() error {
		stubs, _, err := c.Jobs().Allocations(job.ID, false, nil)
		if err != nil || len(stubs) == 0 {
			return fmt.Errorf("no allocation yet: %v", err)
		}
		a, _, err := c.Allocations().Info(stubs[0].ID, nil)
		if err != nil {
			return err
		}
		if st := a.TaskStates["web"]; st == nil || st.State != structs.TaskStateRunning {
			return fmt.Errorf("alloc %s not running: %s", a.ID, allocSummary(c, job.ID))
		}
		al = a
		return nil
	})
	return al
}

// TestClientRequestsForwardedToTheAllocationsNode: agent A (server and
// client) and agent B (client only, joined to A). An allocation placed on B
// is reached through A's HTTP API: logs, files, stats and exec are proxied
// to B's agent, which also answers them itself.
func TestClientRequestsForwardedToTheAllocationsNode(t *testing.T) {
	a := testAgent(t, nil)
	b := testAgent(t, func(c *Config) {
		c.Server.Enabled = false
		c.Client.Servers = []string{a.Server().LocalAddr()}
	})
	ca, cb := apiClient(t, a), apiClient(t, b)
	al := runJob(t, ca, loggingJob("remote", b.cfg.NodeName))
	if al.NodeID != b.Client().NodeID() {
		t.Fatalf("alloc placed on %s, want node B %s", al.NodeID, b.Client().NodeID())
	}
	for name, c := range map[string]*api.Client{"through A": ca, "on B": cb} {
		s, err := c.AllocFS().Logs(al.ID, "web", api.LogStdout, api.StreamOptions{}, nil)
		if err != nil {
			t.Fatalf("%s: logs: %v", name, err)
		}
		b, _ := readStream(s)
		if b != "hello from "+al.ID+"\n" {
			t.Fatalf("%s: logs %q", name, b)
		}
	}
	files, err := ca.AllocFS().List(al.ID, "web/local", nil)
	if err != nil || len(files) != 1 || files[0].Name != "file.txt" {
		t.Fatalf("ls through A: %+v %v", files, err)
	}
	u, err := ca.Allocations().Stats(al.ID, nil)
	if err != nil || u.Tasks["web"] == nil {
		t.Fatalf("stats through A: %+v %v", u, err)
	}
	var out strings.Builder
	code, err := ca.Allocations().Exec(t.Context(), al.ID, &api.ExecOptions{
		Task: "web", Command: []string{"/bin/sh", "-c", "cat local/file.txt; exit 4"}, Stdout: &out,
	}, nil)
	if err != nil || code != 4 || out.String() != "data\n" {
		t.Fatalf("exec through A: %d %v %q", code, err, out.String())
	}
	// A followed stream through the proxy delivers frames as they come.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := ca.AllocFS().Logs(al.ID, "web", api.LogStdout, api.StreamOptions{Follow: true}, &api.QueryOptions{Ctx: ctx})
	if err != nil {
		t.Fatal(err)
	}
	if f, err := s.Next(); err != nil || !strings.HasPrefix(string(f.Data), "hello from") {
		t.Fatalf("followed frame through A: %+v %v", f, err)
	}
	s.Close()
	if _, err := ca.AllocFS().List(structs.GenerateUUID(), "/", nil); !api.IsNotFound(err) {
		t.Fatalf("unknown alloc through A: %v", err)
	}
}

func readStream(s *api.FrameStream) (string, error) {
	defer s.Close()
	var b strings.Builder
	for {
		f, err := s.Next()
		if err != nil {
			return b.String(), nil
		}
		b.Write(f.Data)
	}
}

// mountsUnder lists what is mounted below dir.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			out = append(out, fields[4])
		}
	}
	return out
}

// TestPurgedJobLeavesNothingMounted: after `job stop -purge` and the
// servers' garbage collection, the client destroys the allocation: its
// directory and its tmpfs mounts are gone.
func TestPurgedJobLeavesNothingMounted(t *testing.T) {
	a := testAgent(t, func(c *Config) {
		c.Server.GCInterval = 50 * time.Millisecond
		c.Server.EvalGCThreshold, c.Server.JobGCThreshold = time.Millisecond, time.Millisecond
	})
	c := apiClient(t, a)
	al := runJob(t, c, loggingJob("purged", a.cfg.NodeName))
	allocDir := filepath.Join(a.cfg.DataDir, "alloc", al.ID)
	if os.Geteuid() == 0 && len(mountsUnder(allocDir)) == 0 {
		t.Fatal("a running task as root should have tmpfs secrets")
	}
	if _, _, err := c.Jobs().Deregister("purged", true, nil); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		if _, err := os.Stat(allocDir); !os.IsNotExist(err) {
			return fmt.Errorf("alloc dir still there: %v", err)
		}
		if m := mountsUnder(a.cfg.DataDir); len(m) > 0 {
			return fmt.Errorf("still mounted: %v", m)
		}
		return nil
	})
}

// TestDevShutdownLeavesNoMounts: stopping a -dev agent stops its tasks and
// removes its data dir with nothing left mounted in it.
func TestDevShutdownLeavesNoMounts(t *testing.T) {
	cfg := DevConfig()
	cfg.Ports = Ports{}
	cfg.Client.Executor = executortest.Binary()
	cfg.Client.DisableBridge = true
	a, err := New(cfg, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	dataDir := a.cfg.DataDir
	testutil.CleanupMounts(t, dataDir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	al := runJob(t, apiClient(t, a), loggingJob("dev", a.cfg.NodeName))
	pid := taskPID(t, a, al.ID)
	if err := a.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if m := mountsUnder(dataDir); len(m) > 0 {
		t.Fatalf("mounted after shutdown: %v", m)
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Fatalf("dev data dir %s remains: %v", dataDir, err)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Fatalf("task %d still running after shutdown", pid)
	}
}

// taskPID is the PID of the allocation's "web" task, which it logs to
// stderr.
func taskPID(t *testing.T, a *Agent, allocID string) int {
	t.Helper()
	p := filepath.Join(a.cfg.DataDir, "alloc", allocID, "alloc/logs/web.stderr.0")
	var pid int
	testutil.WaitFor(t, 10*time.Second, func() error {
		b, _ := os.ReadFile(p)
		var err error
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	return pid
}
