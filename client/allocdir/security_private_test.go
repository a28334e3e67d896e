package allocdir

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/roam-sh/roam/testutil"
)

// TestSecurityPrivateDirNotTaskWritable: a process running as another user
// than the agent's (a task's `user`, nobody here) can write its local/ but
// cannot create, replace or rename anything in private/, where the
// executor's and the log collector's control files live; a tree an earlier
// version built with a 0777 private/ is tightened by the next Build.
func TestSecurityPrivateDirNotTaskWritable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
	// A root nobody can traverse (t.TempDir's parents are 0700), as a
	// client's alloc_dir is.
	root, err := os.MkdirTemp("", "roam-private-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	d := New(root, "a1", testutil.Logger(t))
	t.Cleanup(func() { _ = d.Destroy() })
	td := d.TaskDir("web")
	if err := d.Build(); err != nil {
		t.Fatal(err)
	}
	if err := td.Build(); err != nil {
		t.Fatal(err)
	}
	// The layout an earlier version left: private/ open to everyone.
	if err := os.Chmod(td.PrivateDir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := td.Build(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(td.PrivateDir, "docker-logger"), 0o700); err != nil {
		t.Fatal(err)
	}
	asNobody := func(script string) error {
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.Dir = td.Dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		return cmd.Run()
	}
	if err := asNobody("echo x > local/ok"); err != nil {
		t.Fatalf("nobody cannot write local/ (the control case): %v", err)
	}
	for _, script := range []string{
		"echo x > private/handle.json",
		"mv private/docker-logger private/old",
		"mkdir private/executor",
	} {
		if err := asNobody(script); err == nil {
			t.Errorf("%q succeeded as nobody", script)
		}
	}
	if _, err := os.Stat(filepath.Join(td.PrivateDir, "docker-logger")); err != nil {
		t.Errorf("docker-logger moved: %v", err)
	}
}
