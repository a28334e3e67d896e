package client

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func TestMain(m *testing.M) {
	executortest.MaybeRun()
	os.Exit(m.Run())
}

func testConfig(t *testing.T, srv *fakeServer, dataDir string) *Config {
	return &Config{
		DataDir: dataDir, RPC: srv, NodeName: "test-node", NetworkInterface: "lo",
		Plugins:  map[string]map[string]any{"raw_exec": {"enabled": true}},
		Executor: executortest.Binary(), Meta: map[string]string{"rack": "r1"},
		UpdateInterval: 20 * time.Millisecond, MaxQueryTime: 2 * time.Second,
		// Tests that need the bridge give it names of their own (network_test.go).
		DisableBridge: true, Logger: testutil.Logger(t),
	}
}

// runClient builds and runs a client; it is shut down at the end of the test
// (leaving tasks, which each test kills through the allocations).
func runClient(t *testing.T, cfg *Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = c.Run(context.Background()); close(done) }()
	t.Cleanup(func() {
		destroyAll(c)
		c.Shutdown()
		<-done
	})
	return c
}

// destroyAll destroys every allocation, killing its tasks and unmounting its
// directories, so nothing outlives the test.
func destroyAll(c *Client) {
	for _, ar := range c.AllocRunners() {
		ar.Destroy()
		<-ar.DestroyCh()
	}
}

func testAlloc(nodeID string, jobType structs.JobType, script string) *structs.Allocation {
	task := &structs.Task{
		Name: "web", Driver: "raw_exec", KillTimeout: 5 * time.Second,
		Config:        map[string]any{"command": "/bin/sh", "args": []any{"-c", script}},
		RestartPolicy: &structs.RestartPolicy{Attempts: 0, Mode: structs.RestartModeFail},
	}
	job := &structs.Job{ID: "job", Name: "job", Type: jobType, Namespace: "default",
		TaskGroups: []*structs.TaskGroup{{Name: "g", Tasks: []*structs.Task{task}}}}
	return &structs.Allocation{ID: structs.GenerateUUID(), Name: "job.g[0]", Namespace: "default", NodeID: nodeID,
		JobID: "job", Job: job, TaskGroup: "g", DesiredStatus: structs.AllocDesiredStatusRun}
}

func waitReported(t *testing.T, srv *fakeServer, id string, want structs.AllocClientStatus) *structs.Allocation {
	t.Helper()
	var got *structs.Allocation
	testutil.WaitFor(t, 20*time.Second, func() error {
		got = srv.reported(id)
		if got == nil || got.ClientStatus != want {
			return fmt.Errorf("alloc %s reported %v, want %s", id, got, want)
		}
		return nil
	})
	return got
}

func TestRegisterFingerprintAndHeartbeat(t *testing.T) {
	srv := newFakeServer()
	c := runClient(t, testConfig(t, srv, t.TempDir()))
	testutil.WaitFor(t, 10*time.Second, func() error {
		if _, hb, _ := srv.counts(); hb < 2 {
			return fmt.Errorf("%d heartbeats", hb)
		}
		return nil
	})
	n := srv.node(c.NodeID())
	if n.SecretID == "" || n.Name != "test-node" || n.Datacenter != "dc1" || n.NodePool != "default" ||
		n.Status != structs.NodeStatusReady || n.SchedulingEligibility != structs.NodeSchedulingEligible {
		t.Fatalf("registered node %+v", n)
	}
	if n.Attributes["driver.raw_exec"] != "1" || !n.Drivers["raw_exec"].Healthy || n.Attributes["unique.network.ip-address"] != "127.0.0.1" {
		t.Fatalf("attributes %v drivers %+v", n.Attributes, n.Drivers)
	}
	if n.NodeResources.Cpu.CpuShares == 0 || n.NodeResources.MinDynamicPort != 20000 || n.ComputedClass == "" || n.Meta["rack"] != "r1" {
		t.Fatalf("resources %+v class %q", n.NodeResources, n.ComputedClass)
	}
}

func TestRawExecDisabledByDefault(t *testing.T) {
	srv := newFakeServer()
	cfg := testConfig(t, srv, t.TempDir())
	cfg.Plugins = nil
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	n := c.Node()
	if _, ok := n.Attributes["driver.raw_exec"]; ok || n.Drivers["raw_exec"].Detected || n.Drivers["raw_exec"].HealthDescription != "disabled" {
		t.Fatalf("disabled raw_exec fingerprinted as %+v", n.Drivers["raw_exec"])
	}
	// The legacy client option enables it too (a fresh data dir: the first
	// client holds its state DB).
	cfg.Options = map[string]string{"driver.raw_exec.enable": "1"}
	cfg.DataDir = t.TempDir()
	c3, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Shutdown()
	if c3.Node().Attributes["driver.raw_exec"] != "1" {
		t.Fatal("driver.raw_exec.enable option did not enable raw_exec")
	}
}

func TestReRegisterWhenServerForgetsNode(t *testing.T) {
	srv := newFakeServer()
	c := runClient(t, testConfig(t, srv, t.TempDir()))
	testutil.WaitFor(t, 10*time.Second, func() error {
		if _, hb, _ := srv.counts(); hb < 1 {
			return fmt.Errorf("no heartbeat yet")
		}
		return nil
	})
	srv.forgetNode(c.NodeID())
	testutil.WaitFor(t, 10*time.Second, func() error {
		if reg, _, _ := srv.counts(); reg < 2 || srv.node(c.NodeID()) == nil {
			return fmt.Errorf("%d registrations", reg)
		}
		return nil
	})
}

func TestRunStopAndGarbageCollect(t *testing.T) {
	srv := newFakeServer()
	c := runClient(t, testConfig(t, srv, t.TempDir()))
	done := testAlloc(c.NodeID(), structs.JobTypeBatch, `echo done`)
	svc := testAlloc(c.NodeID(), structs.JobTypeService, `exec sleep 300`)
	srv.upsertAlloc(done)
	srv.upsertAlloc(svc)

	got := waitReported(t, srv, done.ID, structs.AllocClientStatusComplete)
	if got.TaskStates["web"].State != structs.TaskStateDead || got.Job != nil || got.ModifyTime == 0 {
		t.Fatalf("reported %+v", got)
	}
	waitReported(t, srv, svc.ID, structs.AllocClientStatusRunning)

	srv.stopAlloc(svc.ID)
	waitReported(t, srv, svc.ID, structs.AllocClientStatusComplete)

	ar, err := c.GetAllocRunner(svc.ID)
	if err != nil {
		t.Fatal(err)
	}
	srv.gcAlloc(svc.ID)
	select {
	case <-ar.DestroyCh():
	case <-time.After(20 * time.Second):
		t.Fatal("garbage collected allocation not destroyed")
	}
	if _, err := os.Stat(ar.AllocDir().Dir); !os.IsNotExist(err) {
		t.Fatalf("alloc dir remains: %v", err)
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		if ids := c.knownAllocs(); slices.Contains(ids, svc.ID) {
			return fmt.Errorf("runner still listed: %v", ids)
		}
		return nil
	})
	// Many state changes, few RPCs: updates are batched.
	if _, _, rpcs := srv.counts(); rpcs > 40 {
		t.Errorf("%d Node.UpdateAlloc calls; updates are not being batched", rpcs)
	}
}

// startFifoAlloc places a batch alloc whose task prints its PID and waits on a
// fifo; release lets it exit 0.
func startFifoAlloc(t *testing.T, srv *fakeServer, c *Client, dataDir string) (*structs.Allocation, func(), int) {
	t.Helper()
	a := testAlloc(c.NodeID(), structs.JobTypeBatch, `echo "pid $$"; read x < "$NOMAD_ALLOC_DIR/fifo"; exit 0`)
	shared := filepath.Join(dataDir, "alloc", a.ID, "alloc")
	if err := os.MkdirAll(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(shared, "fifo")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	srv.upsertAlloc(a)
	waitReported(t, srv, a.ID, structs.AllocClientStatusRunning)
	var pid int
	stdout := filepath.Join(dataDir, "alloc", a.ID, "alloc", "logs", "web.stdout.0")
	testutil.WaitFor(t, 10*time.Second, func() error {
		b, _ := os.ReadFile(stdout)
		if _, err := fmt.Sscanf(string(b), "pid %d", &pid); err != nil {
			return fmt.Errorf("no pid in %q", b)
		}
		return nil
	})
	release := func() {
		if err := os.WriteFile(fifo, []byte("go\n"), 0); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	return a, release, pid
}

// TestClientRestartReattaches: a client restarted on the same state dir
// restores the allocation from bbolt, re-attaches to the same task process
// (no second start) and reports its exit.
func TestClientRestartReattaches(t *testing.T) {
	srv := newFakeServer()
	dataDir := t.TempDir()
	c1, err := New(testConfig(t, srv, dataDir))
	if err != nil {
		t.Fatal(err)
	}
	done1 := make(chan struct{})
	go func() { _ = c1.Run(context.Background()); close(done1) }()
	a, release, pid := startFifoAlloc(t, srv, c1, dataDir)
	c1.Shutdown()
	<-done1
	if syscall.Kill(pid, 0) != nil {
		t.Fatal("task died with the client")
	}

	c2 := runClient(t, testConfig(t, srv, dataDir))
	if c2.NodeID() != c1.NodeID() {
		t.Fatalf("node ID changed across restart: %s → %s", c1.NodeID(), c2.NodeID())
	}
	ar, err := c2.GetAllocRunner(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := c2.drivers.Get("raw_exec")
	testutil.WaitFor(t, 10*time.Second, func() error {
		st, err := d.InspectTask(ar.TaskRunner("web").TaskID())
		if err != nil {
			return err
		}
		if st.DriverAttributes["pid"] != strconv.Itoa(pid) {
			return fmt.Errorf("attached to pid %s, want %d", st.DriverAttributes["pid"], pid)
		}
		return nil
	})
	release()
	got := waitReported(t, srv, a.ID, structs.AllocClientStatusComplete)
	if n := countStarts(got.TaskStates["web"]); n != 1 {
		t.Fatalf("task started %d times", n)
	}
}

// TestTaskExitsWhileClientDown: the task ends while no client runs; the next
// client reads the exit the executor recorded and reports it.
func TestTaskExitsWhileClientDown(t *testing.T) {
	srv := newFakeServer()
	dataDir := t.TempDir()
	c1, err := New(testConfig(t, srv, dataDir))
	if err != nil {
		t.Fatal(err)
	}
	done1 := make(chan struct{})
	go func() { _ = c1.Run(context.Background()); close(done1) }()
	a, release, pid := startFifoAlloc(t, srv, c1, dataDir)
	c1.Shutdown()
	<-done1

	release()
	testutil.WaitFor(t, 10*time.Second, func() error {
		if syscall.Kill(pid, 0) == nil {
			return fmt.Errorf("task %d still running", pid)
		}
		return nil
	})
	c2 := runClient(t, testConfig(t, srv, dataDir))
	got := waitReported(t, srv, a.ID, structs.AllocClientStatusComplete)
	st := got.TaskStates["web"]
	if st.Failed || countStarts(st) != 1 {
		t.Fatalf("task state %+v", st)
	}
	last := st.Events[len(st.Events)-1]
	if last.Type != structs.TaskTerminated || last.ExitCode != 0 {
		t.Fatalf("last event %+v", last)
	}
	_ = c2
}

func countStarts(st *structs.TaskState) int {
	n := 0
	for _, e := range st.Events {
		if e.Type == structs.TaskStarted {
			n++
		}
	}
	return n
}
