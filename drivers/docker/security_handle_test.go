package docker

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/roam-sh/roam/drivers/docker/collector"
	"github.com/roam-sh/roam/drivers/executor"
)

// TestSecurityPrivateForgedCollectorHandle: a log collector record in the
// task's private/ folder that names another process (the review's
// {"pid": N, "start": 0}, and one with N's true start time) makes the
// driver signal nothing: the process the test started survives the task's
// destruction, and InspectTask does not report it as the collector.
func TestSecurityPrivateForgedCollectorHandle(t *testing.T) {
	img := progImage(t)
	d := newDriver(t, nil)
	cfg := taskCfg(t, "lines", map[string]any{"image": img, "args": []any{"lines", "10ms"}})
	start(t, d, cfg)
	dir := d.lookup(cfg.ID).state.CollectorDir
	real, ok := collector.Find(dir)
	if !ok {
		t.Fatal("no log collector")
	}
	t.Cleanup(func() { _ = syscall.Kill(real.PID, syscall.SIGKILL) })

	victim := exec.Command("sleep", "600")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = victim.Process.Kill(); _ = victim.Wait() })
	vstart, err := executor.ProcessStartTime(victim.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	forge := func(start uint64) {
		b, _ := json.Marshal(map[string]any{"pid": victim.Process.Pid, "start": start, "dir": "x"})
		if err := os.WriteFile(filepath.Join(dir, "handle.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	forge(0)
	st, err := d.InspectTask(cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.DriverAttributes["log_collector_pid"]; got == strconv.Itoa(victim.Process.Pid) {
		t.Errorf("the forged record is reported as the collector (pid %s)", got)
	}
	forge(vstart)
	if err := d.DestroyTask(context.Background(), cfg.ID, true); err != nil {
		t.Fatal(err)
	}
	// Stop returns once the process it signalled is seen dead (a zombie
	// counts: the test has not reaped it), so a kill would show now.
	if !executor.ProcessAlive(victim.Process.Pid, vstart) {
		t.Fatalf("the process named by the forged record (pid %d) was killed", victim.Process.Pid)
	}
}
