package exec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers/executor"
	"github.com/roam-sh/roam/internal/cgroups"
	"github.com/roam-sh/roam/internal/cpuset"
	"github.com/roam-sh/roam/testutil"
)

// taskCgroup opens the running task's cgroup through the driver.
func taskCgroup(t *testing.T, d *Driver, id string) cgroups.Cgroup {
	t.Helper()
	tk, err := d.get(id)
	if err != nil || tk.cgroup == nil {
		t.Fatalf("task %s has no cgroup (%v)", id, err)
	}
	return tk.cgroup
}

// controlFile reads a control file from whichever of the cgroup's
// directories has it.
func controlFile(t *testing.T, cg cgroups.Cgroup, name string) string {
	t.Helper()
	for _, p := range cg.Paths() {
		if b, err := os.ReadFile(filepath.Join(p, name)); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	t.Fatalf("no %s in %v", name, cg.Paths())
	return ""
}

// TestCgroupLimits: the task starts inside its own cgroup, whose files carry
// its CPU shares and memory limits (memory_max hard, memory soft); the
// cgroup is gone once the task exited.
func TestCgroupLimits(t *testing.T) {
	d := newDriver(t)
	cfg, release := fifoTask(t, "")
	cfg.Resources.CPUShares, cfg.Resources.MemoryMB, cfg.Resources.MemoryMaxMB = 300, 64, 128
	h := start(t, d, cfg)
	waitFileContains(t, cfg.StdoutPath, "ready")
	eh, ref := executorHandle(t, h)
	cg := taskCgroup(t, d, cfg.ID)
	if pids, err := cg.Pids(); err != nil || !slices.Contains(pids, eh.TaskPID) {
		t.Fatalf("task %d not in its cgroup: %v %v", eh.TaskPID, pids, err)
	}
	want := map[string]string{"memory.max": "134217728", "memory.low": "67108864", "cpu.weight": "12"}
	if ref.Version == cgroups.V1 {
		want = map[string]string{
			"cpu.shares": "300", "memory.limit_in_bytes": "134217728", "memory.soft_limit_in_bytes": "67108864",
		}
	}
	for f, v := range want {
		if got := controlFile(t, cg, f); got != v {
			t.Errorf("%s = %s, want %s", f, got, v)
		}
	}
	release()
	if res := waitExit(t, d, cfg.ID, 10*time.Second); res.ExitCode != 7 || res.OOMKilled {
		t.Fatalf("exit %+v", res)
	}
	cgroupDirsGone(t, d, ref)
}

// TestOOMKilled: a task with 32 MB that reads 200 MB into memory is killed
// by the kernel, and its exit says so.
func TestOOMKilled(t *testing.T) {
	d := newDriver(t)
	cfg := taskConfig(t, sh(`head -c 200M /dev/zero | tail`))
	cfg.Resources.MemoryMB = 32
	_, res := run(t, d, cfg)
	if !res.OOMKilled || res.Successful() || res.ExitCode != 128+int(syscall.SIGKILL) {
		t.Fatalf("exit %+v", res)
	}
	cgroupDirsGone(t, d, taskCgroup(t, d, cfg.ID).Ref())
}

// TestReservedCore: cores = 1 pins the task to its core, and a task without
// reserved cores no longer runs there.
func TestReservedCore(t *testing.T) {
	all, err := cpuset.Parse(readOnline(t))
	if err != nil || len(all) < 2 {
		t.Skipf("need two cores: %v %v", all, err)
	}
	d := newDriver(t)
	last := all[len(all)-1]
	pinned, releasePinned := fifoTask(t, `grep Cpus_allowed_list /proc/self/status; `)
	pinned.Resources.ReservedCores = []uint16{last}
	start(t, d, pinned)
	defer releasePinned()
	waitFileContains(t, pinned.StdoutPath, "ready")
	if got := controlFile(t, taskCgroup(t, d, pinned.ID), "cpuset.cpus"); got != strconv.Itoa(int(last)) {
		t.Fatalf("pinned cpuset.cpus %s", got)
	}
	waitFileContains(t, pinned.StdoutPath, fmt.Sprintf("Cpus_allowed_list:\t%d\n", last))

	rest := cpuset.Format(slices.DeleteFunc(slices.Clone(all), func(c uint16) bool { return c == last }))
	shared := taskConfig(t, sh(`grep Cpus_allowed_list /proc/self/status`))
	if out := runOK(t, d, shared); !strings.Contains(out, "Cpus_allowed_list:\t"+rest+"\n") {
		t.Fatalf("shared task runs on %q, want %s", out, rest)
	}
}

func readOnline(t *testing.T) string {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		t.Skip(err)
	}
	return strings.TrimSpace(string(b))
}

func TestTaskStats(t *testing.T) {
	d := newDriver(t)
	cfg, release := fifoTask(t, `i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; `)
	start(t, d, cfg)
	defer release()
	waitFileContains(t, cfg.StdoutPath, "ready")
	u, err := d.TaskStats(context.Background(), cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.MemoryUsageBytes == 0 || u.MemoryMaxUsageBytes < u.MemoryUsageBytes || u.CPUPercent < 0 ||
		!slices.Contains(u.MemoryMeasured, "RSS") || !slices.Contains(u.CPUMeasured, "Throttled Time") {
		t.Fatalf("stats %+v", u)
	}
}

// TestRecoverRunningTask: a restarted client re-attaches to the same process,
// whose cgroup is intact; the cgroup goes once the task exits.
func TestRecoverRunningTask(t *testing.T) {
	d1 := newDriver(t)
	cfg, release := fifoTask(t, "")
	h := start(t, d1, cfg)
	waitFileContains(t, cfg.StdoutPath, "ready")
	eh, ref := executorHandle(t, h)
	d1.Shutdown()
	forget(d1, cfg.ID)

	d2 := New(d1.cfg)
	t.Cleanup(d2.Shutdown)
	if err := d2.RecoverTask(h.Copy()); err != nil {
		t.Fatal(err)
	}
	st, err := d2.InspectTask(cfg.ID)
	if err != nil || st.DriverAttributes["pid"] != strconv.Itoa(eh.TaskPID) {
		t.Fatalf("inspect after recover %+v %v", st, err)
	}
	if pids, err := taskCgroup(t, d2, cfg.ID).Pids(); err != nil || !slices.Contains(pids, eh.TaskPID) {
		t.Fatalf("cgroup after recover: %v %v", pids, err)
	}
	release()
	if res := waitExit(t, d2, cfg.ID, 10*time.Second); res.ExitCode != 7 {
		t.Fatalf("exit %+v", res)
	}
	if out, _ := os.ReadFile(cfg.StdoutPath); string(out) != "ready\ngot go\n" {
		t.Fatalf("stdout %q (started twice?)", out)
	}
	if err := d2.DestroyTask(context.Background(), cfg.ID, false); err != nil {
		t.Fatal(err)
	}
	cgroupDirsGone(t, d2, ref)
}

// TestRecoverLostExecutor: the executor was killed; recovery fails, and the
// orphaned task and its cgroup are removed.
func TestRecoverLostExecutor(t *testing.T) {
	d1 := newDriver(t)
	cfg := taskConfig(t, sh(`echo ready; exec sleep 300`))
	h := start(t, d1, cfg)
	waitFileContains(t, cfg.StdoutPath, "ready")
	eh, ref := executorHandle(t, h)
	d1.Shutdown()
	if err := syscall.Kill(eh.ExecutorPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if eh.ExecutorAlive() {
			return fmt.Errorf("executor %d still running", eh.ExecutorPID)
		}
		return nil
	})
	d2 := New(d1.cfg)
	t.Cleanup(d2.Shutdown)
	if err := d2.RecoverTask(h.Copy()); !errors.Is(err, executor.ErrExecutorLost) {
		t.Fatalf("recover: %v", err)
	}
	if eh.TaskAlive() {
		t.Fatalf("orphaned task %d still running", eh.TaskPID)
	}
	cgroupDirsGone(t, d2, ref)
	forget(d1, cfg.ID)
}

// forget drops a task from a driver that was shut down (a client that is
// gone), so the test's cleanup does not try to stop it through it.
func forget(d *Driver, id string) {
	d.tasks.Delete(id)
}
