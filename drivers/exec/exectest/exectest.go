// Package exectest helps test drivers that isolate tasks (exec, java): task
// configs laid out as the client lays out task dirs, and cgroup parents of a
// test's own that must be empty when it ends.
package exectest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/internal/cgroups"
)

// RequireIsolation skips the test unless tasks can be isolated here (root,
// cgroups with the needed controllers) and returns the host's cgroups.
func RequireIsolation(t testing.TB) *cgroups.Host {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("isolating tasks needs root")
	}
	h, err := cgroups.Detect()
	if err != nil {
		t.Skip(err)
	}
	if err := h.Check(); err != nil {
		t.Skip(err)
	}
	return h
}

// CgroupParent returns a cgroup parent unique to the test. When the test
// ends the parent is removed, and the test fails if a task cgroup was left
// in it. Call it before starting tasks, so it runs after their cleanups.
func CgroupParent(t testing.TB, host *cgroups.Host) string {
	t.Helper()
	parent := fmt.Sprintf("roam-test-%d", time.Now().UnixNano())
	t.Cleanup(func() {
		if err := host.RemoveParent(parent); err != nil {
			t.Errorf("cgroups left behind: %v", err)
		}
		if _, err := os.Stat(filepath.Join(host.Mountpoint(), parent)); !os.IsNotExist(err) {
			t.Errorf("cgroup parent %s still exists", filepath.Join(host.Mountpoint(), parent))
		}
	})
	return parent
}

// TaskConfig builds a task "web" with its own directories under a temp dir,
// laid out as the client's allocdir does: every directory 0777, so the
// task's user can write its local/, tmp/ and the shared alloc/.
func TaskConfig(t testing.TB, config map[string]any) *drivers.TaskConfig {
	t.Helper()
	root := t.TempDir()
	alloc := filepath.Join(root, "alloc")
	dir := filepath.Join(root, "web")
	td := drivers.TaskDir{
		Dir: dir, SharedAllocDir: alloc, LocalDir: filepath.Join(dir, "local"),
		SecretsDir: filepath.Join(dir, "secrets"), PrivateDir: filepath.Join(dir, "private"),
		TmpDir: filepath.Join(dir, "tmp"), LogDir: filepath.Join(alloc, "logs"),
	}
	for _, p := range []string{root, alloc, filepath.Join(alloc, "data"), td.LogDir, dir, td.LocalDir, td.SecretsDir, td.PrivateDir, td.TmpDir} {
		if err := os.MkdirAll(p, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	allocID := fmt.Sprintf("a%d", time.Now().UnixNano())
	return &drivers.TaskConfig{
		ID: allocID + "/web/" + strconv.FormatInt(time.Now().UnixNano(), 36), Name: "web", AllocID: allocID,
		Env:    map[string]string{"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "NOMAD_TASK_DIR": "/local"},
		Config: config, TaskDir: td, Resources: drivers.Resources{CPUShares: 100, MemoryMB: 256},
		StdoutPath: filepath.Join(td.LogDir, "web.stdout.0"), StderrPath: filepath.Join(td.LogDir, "web.stderr.0"),
	}
}
