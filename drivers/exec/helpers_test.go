package exec

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/exec/exectest"
	"github.com/roam-sh/roam/drivers/executor"
	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/internal/cgroups"
	"github.com/roam-sh/roam/testutil"
)

func TestMain(m *testing.M) {
	executortest.MaybeRun()
	os.Exit(m.Run())
}

// newDriver returns a driver whose cgroups live under a parent of the test's
// own; the parent must be gone (every task cgroup removed) when it ends.
func newDriver(t *testing.T, mod ...func(*Config)) *Driver {
	t.Helper()
	if _, err := probeIsolation(); err != nil {
		t.Skipf("cannot isolate tasks here: %v", err)
	}
	host := exectest.RequireIsolation(t)
	cfg := Config{CgroupParent: exectest.CgroupParent(t, host), Executor: executortest.Binary(), Logger: testutil.Logger(t)}
	for _, m := range mod {
		m(&cfg)
	}
	d := New(cfg)
	t.Cleanup(d.Shutdown)
	return d
}

func taskConfig(t *testing.T, config map[string]any) *drivers.TaskConfig {
	return exectest.TaskConfig(t, config)
}

func sh(script string) map[string]any {
	return map[string]any{"command": "/bin/sh", "args": []any{"-c", script}}
}

// start starts a task and makes sure nothing of it survives the test.
func start(t *testing.T, d *Driver, cfg *drivers.TaskConfig) *drivers.TaskHandle {
	t.Helper()
	h, err := d.StartTask(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	var st taskState
	if err := h.GetDriverState(&st); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.lookup(cfg.ID) != nil {
			if err := d.DestroyTask(context.Background(), cfg.ID, true); err != nil {
				t.Errorf("destroy: %v", err)
			}
		}
		_ = syscall.Kill(-st.Executor.TaskPID, syscall.SIGKILL)
		_ = syscall.Kill(st.Executor.ExecutorPID, syscall.SIGKILL)
	})
	return h
}

func waitExit(t *testing.T, d *Driver, id string, within time.Duration) *drivers.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	ch, err := d.WaitTask(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	res, ok := <-ch
	if !ok {
		t.Fatalf("task %s did not exit within %v", id, within)
	}
	return res
}

// run starts a task, waits for it to exit and returns its stdout.
func run(t *testing.T, d *Driver, cfg *drivers.TaskConfig) (string, *drivers.ExitResult) {
	t.Helper()
	start(t, d, cfg)
	res := waitExit(t, d, cfg.ID, 30*time.Second)
	out, _ := os.ReadFile(cfg.StdoutPath)
	return string(out), res
}

func runOK(t *testing.T, d *Driver, cfg *drivers.TaskConfig) string {
	t.Helper()
	out, res := run(t, d, cfg)
	if !res.Successful() {
		errOut, _ := os.ReadFile(cfg.StderrPath)
		t.Fatalf("exit %+v\nstdout: %s\nstderr: %s", res, out, errOut)
	}
	return out
}

func waitFileContains(t *testing.T, path, want string) {
	t.Helper()
	testutil.WaitFor(t, 20*time.Second, func() error {
		b, _ := os.ReadFile(path)
		if !strings.Contains(string(b), want) {
			return fmt.Errorf("%s = %q, want it to contain %q", path, b, want)
		}
		return nil
	})
}

// fifoTask prints ready, then blocks until the test writes to its fifo and
// exits 7. release is what the test calls to let it go.
func fifoTask(t *testing.T, before string) (*drivers.TaskConfig, func()) {
	t.Helper()
	cfg := taskConfig(t, nil)
	fifo := filepath.Join(cfg.TaskDir.LocalDir, "go")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(fifo, 0o666)
	cfg.Config = sh(before + `echo ready; read line < /local/go; echo "got $line"; exit 7`)
	release := func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fmt.Fprintln(f, "go")
	}
	return cfg, release
}

func executorHandle(t *testing.T, h *drivers.TaskHandle) (*executor.Handle, cgroups.Ref) {
	t.Helper()
	var st taskState
	if err := h.GetDriverState(&st); err != nil {
		t.Fatal(err)
	}
	return st.Executor, st.Cgroup
}

// cgroupDirsGone fails unless every directory of the task's cgroup is gone
// (the shared cpuset is not the task's own).
func cgroupDirsGone(t *testing.T, d *Driver, ref cgroups.Ref) {
	t.Helper()
	host, err := d.isolation()
	if err != nil {
		t.Fatal(err)
	}
	cg, err := host.Open(ref)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		for _, p := range cg.Paths() {
			if filepath.Base(p) == "shared" {
				continue
			}
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				return fmt.Errorf("cgroup %s still there", p)
			}
		}
		return nil
	})
}
