package docker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/docker/collector"
	"github.com/roam-sh/roam/drivers/docker/dockertest"
	"github.com/roam-sh/roam/internal/logfile"
	"github.com/roam-sh/roam/testutil"
)

// lineNumbers parses the "line N" output of the lines program.
func lineNumbers(t *testing.T, out string) []int {
	t.Helper()
	var ns []int
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		n, err := strconv.Atoi(strings.TrimPrefix(l, "line "))
		if err != nil {
			t.Fatalf("unexpected log line %q", l)
		}
		ns = append(ns, n)
	}
	return ns
}

// consecutive checks the lines are 0, 1, 2 ... with no gap and no repeat.
func consecutive(t *testing.T, ns []int) {
	t.Helper()
	for i, n := range ns {
		if n != i {
			t.Fatalf("log line %d is %d: lines were lost or repeated (%v...)", i, n, ns[max(0, i-3):min(len(ns), i+3)])
		}
	}
}

type containerStart struct {
	id      string
	started string
}

func inspectStart(t *testing.T, d *Driver, id string) containerStart {
	t.Helper()
	info, err := d.inspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return containerStart{id: info.ID, started: info.State.StartedAt}
}

// The client goes away (its driver with it) and a new one re-attaches: the
// container is not restarted and its output kept being collected, without
// a line lost or repeated.
func TestRecoverAfterClientRestart(t *testing.T) {
	img := progImage(t)
	before := newDriver(t, nil)
	cfg := taskCfg(t, "lines", map[string]any{"image": img, "args": []any{"lines", "10ms"}})
	h, err := before.StartTask(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := before.lookup(cfg.ID).state
	first := inspectStart(t, before, st.ContainerID)
	col, ok := collector.Find(st.CollectorDir)
	if !ok {
		t.Fatal("no log collector")
	}
	waitLog(t, cfg, logfile.Stdout, "line 20\n")
	before.Shutdown() // the client dies; the container and collector do not

	// Output goes on being collected while no client runs.
	waitLog(t, cfg, logfile.Stdout, "line 80\n")
	after := newDriver(t, nil)
	if err := after.RecoverTask(h.Copy()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = after.DestroyTask(context.Background(), cfg.ID, true) })
	if got := inspectStart(t, after, st.ContainerID); got != first {
		t.Fatalf("container restarted: before %+v, after %+v", first, got)
	}
	if again, ok := collector.Find(st.CollectorDir); !ok || *again != *col {
		t.Fatalf("log collector replaced: before %+v, after %+v", col, again)
	}
	if s, err := after.InspectTask(cfg.ID); err != nil || s.State != drivers.TaskStateRunning {
		t.Fatalf("inspect after recovery: %+v %v", s, err)
	}
	waitLog(t, cfg, logfile.Stdout, "line 120\n")
	if err := after.DestroyTask(context.Background(), cfg.ID, true); err != nil {
		t.Fatal(err)
	}
	consecutive(t, lineNumbers(t, readLogs(t, cfg, logfile.Stdout)))
}

// A collector killed outright is replaced on recovery and goes on from its
// saved cursor: nothing is lost (up to a second may repeat).
func TestCollectorKilledResumes(t *testing.T) {
	img := progImage(t)
	d := newDriver(t, nil)
	cfg := taskCfg(t, "lines", map[string]any{"image": img, "args": []any{"lines", "10ms"}})
	h := start(t, d, cfg)
	dir := d.lookup(cfg.ID).state.CollectorDir
	waitLog(t, cfg, logfile.Stdout, "line 50\n")
	col, _ := collector.Find(dir)
	if err := syscall.Kill(col.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if col.Alive() {
			return fmt.Errorf("collector %d still alive", col.PID)
		}
		return nil
	})
	d.Shutdown()
	after := newDriver(t, nil)
	if err := after.RecoverTask(h.Copy()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = after.DestroyTask(context.Background(), cfg.ID, true) })
	if c, ok := collector.Find(dir); !ok || c.PID == col.PID {
		t.Fatalf("no new collector: %+v", c)
	}
	waitLog(t, cfg, logfile.Stdout, "line 150\n")
	if err := after.DestroyTask(context.Background(), cfg.ID, true); err != nil {
		t.Fatal(err)
	}
	ns := lineNumbers(t, readLogs(t, cfg, logfile.Stdout))
	seen := map[int]bool{}
	for _, n := range ns {
		seen[n] = true
	}
	for i := 0; i <= 150; i++ {
		if !seen[i] {
			t.Fatalf("line %d lost", i)
		}
	}
	if extra := len(ns) - len(seen); extra > 150 {
		t.Errorf("%d lines repeated; at most a second's worth should be", extra)
	}
}

// The Docker daemon restarts under a running task: the driver starts the
// same container again, the task never reports an exit, and its logs go on.
func TestDaemonRestart(t *testing.T) {
	dockertest.Exclusive(t)
	img := progImage(t)
	d := newDriver(t, nil)
	port := freePort(t)
	cfg := taskCfg(t, "web", map[string]any{"image": img, "args": []any{"serve", "8080"}, "ports": []any{"http"}})
	cfg.Ports = []drivers.PortMapping{{Label: "http", Value: port, To: 8080, HostIP: "127.0.0.1"}}
	start(t, d, cfg)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	reachable := func() error { _, err := httpGet(url); return err }
	testutil.WaitFor(t, 20*time.Second, reachable)
	id := d.lookup(cfg.ID).state.ContainerID

	dockertest.RestartDaemon(t)

	testutil.WaitFor(t, 90*time.Second, reachable)
	if d.lookup(cfg.ID).exit.Exited() {
		t.Fatalf("task reported an exit: %+v", d.lookup(cfg.ID).exit.Result())
	}
	if info, err := d.inspect(context.Background(), id); err != nil || !info.State.Running {
		t.Fatalf("container %s after the restart: %v", id, err)
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		if n := strings.Count(readLogs(t, cfg, logfile.Stdout), "listening on 8080"); n != 2 {
			return fmt.Errorf("%d starts in the log, want 2", n)
		}
		return nil
	})
}
