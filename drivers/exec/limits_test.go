package exec

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/internal/cgroups"
	"github.com/roam-sh/roam/testutil"
)

// TestSecurityLimitsForkBomb: a fork bomb in an exec task hits the task's
// pids limit and stays there; the host can still start processes, and
// destroying the task leaves nothing of it behind. The limit is small so the
// test stays bounded even if the limit did not hold on the first fork.
func TestSecurityLimitsForkBomb(t *testing.T) {
	const limit = 48
	d := newDriver(t, func(c *Config) { c.Plugin.PidsLimit = limit })
	cfg := taskConfig(t, sh(`b() { b | b & }; b; sleep 600`))
	h := start(t, d, cfg)
	_, ref := executorHandle(t, h)
	cg := taskCgroup(t, d, cfg.ID)
	if got := controlFile(t, cg, "pids.max"); got != strconv.Itoa(limit) {
		t.Fatalf("pids.max = %s, want %d", got, limit)
	}
	// The bomb is at its ceiling once a fork was refused for it.
	testutil.WaitFor(t, 30*time.Second, func() error {
		cur := pidsCurrent(t, cg)
		if cur > limit {
			t.Fatalf("pids.current = %d above the limit %d", cur, limit)
		}
		if n := pidsMaxEvents(t, cg); n == 0 {
			return fmt.Errorf("no fork refused yet (pids.current %d)", cur)
		}
		return nil
	})
	if cur := pidsCurrent(t, cg); cur > limit {
		t.Fatalf("pids.current = %d above the limit %d", cur, limit)
	}
	// The host is not starved: the test process can still fork and exec.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, "/bin/true").Run(); err != nil {
		t.Fatalf("host cannot start a process while the bomb runs: %v", err)
	}
	if err := d.DestroyTask(context.Background(), cfg.ID, true); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	cgroupDirsGone(t, d, ref)
}

// TestSecurityLimitsPidsDefault: a task of a client that configures nothing
// still runs under DefaultPidsLimit.
func TestSecurityLimitsPidsDefault(t *testing.T) {
	d := newDriver(t)
	cfg, release := fifoTask(t, "")
	start(t, d, cfg)
	waitFileContains(t, cfg.StdoutPath, "ready")
	if got := controlFile(t, taskCgroup(t, d, cfg.ID), "pids.max"); got != strconv.Itoa(DefaultPidsLimit) {
		t.Fatalf("pids.max = %s, want %d", got, DefaultPidsLimit)
	}
	release()
	waitExit(t, d, cfg.ID, 10*time.Second)
}

// TestSecurityLimitsPidsTaskCannotRaise: a task may lower the client's limit,
// never raise it or turn it off.
func TestSecurityLimitsPidsTaskCannotRaise(t *testing.T) {
	for _, c := range []struct {
		task, plugin, want int64
		err                string
	}{
		{0, 100, 100, ""},
		{10, 100, 10, ""},
		{100, 100, 100, ""},
		{101, 100, 0, "above the client's limit"},
		{-1, 100, 0, "must be positive"},
	} {
		got, err := taskPidsLimit(c.task, c.plugin)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("task %d plugin %d: err %v, want %q", c.task, c.plugin, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("task %d plugin %d: %d %v, want %d", c.task, c.plugin, got, err, c.want)
		}
	}
	if _, err := ParsePluginConfig("exec", map[string]any{"pids_limit": -5}); err == nil {
		t.Error("negative plugin pids_limit accepted")
	}
	pc, err := ParsePluginConfig("java", map[string]any{"pids_limit": 200})
	if err != nil || pc.pidsLimit() != 200 {
		t.Errorf("java plugin pids_limit: %+v %v", pc, err)
	}
}

func pidsCurrent(t *testing.T, cg cgroups.Cgroup) int {
	t.Helper()
	n, err := strconv.Atoi(controlFile(t, cg, "pids.current"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// pidsMaxEvents is how many forks the pids limit refused.
func pidsMaxEvents(t *testing.T, cg cgroups.Cgroup) int {
	t.Helper()
	for _, line := range strings.Split(controlFile(t, cg, "pids.events"), "\n") {
		if v, ok := strings.CutPrefix(line, "max "); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}
