package executor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/testutil"
)

// isolatedTask starts `sleep` as pid 1 of new pid, uts, ipc and mount
// namespaces, chrooted into a root holding the host's /usr and a marker file:
// the shape of an exec-driver task, built without the exec driver.
func isolatedTask(t *testing.T) *Handle {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("namespaces need root")
	}
	root := t.TempDir()
	for _, d := range []string{"usr", "proc", "tmp"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []string{"bin", "lib", "lib64", "sbin"} {
		if err := os.Symlink("usr/"+l, filepath.Join(root, l)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "marker"), []byte("inside the task\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `mount --bind -o ro /usr "$ROOT/usr" && mount -t proc proc "$ROOT/proc" &&
		exec chroot "$ROOT" /bin/sh -c 'hostname task-host && echo ready && exec sleep 300'`
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = []string{"ROOT=" + root, "PATH=/usr/sbin:/usr/bin"}
	var out testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:   syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		Unshareflags: syscall.CLONE_NEWNS, // Go makes the new mount tree private
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	testutil.WaitFor(t, 10*time.Second, func() error {
		if !strings.Contains(out.String(), "ready") {
			return fmt.Errorf("isolated task not ready: %q", out.String())
		}
		return nil
	})
	start, err := processStartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return &Handle{TaskPID: cmd.Process.Pid, TaskStart: start}
}

func TestExecEntersTaskNamespaces(t *testing.T) {
	h := isolatedTask(t)
	var stdout, stderr testutil.SyncBuffer
	st, err := h.ExecStreaming(t.Context(), &ExecRequest{
		Command: []string{"sh", "-c", `cat /marker; hostname; echo "pid $$"; pwd; ls /proc | grep -c '^[0-9]'`},
		Env:     []string{"PATH=/usr/bin:/bin"}, Isolation: ExecTaskNamespaces,
		Stdout: &stdout, Stderr: &stderr,
	})
	if err != nil || st.ExitCode != 0 {
		t.Fatalf("exec: %+v %v; stderr %q", st, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 5 || lines[0] != "inside the task" || lines[1] != "task-host" || lines[3] != "/" {
		t.Fatalf("output %q", stdout.String())
	}
	// In the task's pid namespace: a small pid, and only the task's processes
	// (sleep, the shell, grep's pipeline) are visible in its /proc.
	pid, _ := strconv.Atoi(strings.TrimPrefix(lines[2], "pid "))
	n, _ := strconv.Atoi(lines[4])
	if pid <= 1 || pid > 20 || n > 6 {
		t.Fatalf("not in the task's pid namespace: %q", stdout.String())
	}
	if host, _ := os.Hostname(); host == "task-host" {
		t.Fatal("the exec changed the host's hostname")
	}
}

func TestExecIntoExitedTask(t *testing.T) {
	h := &Handle{TaskPID: 1 << 30}
	_, err := h.ExecStreaming(context.Background(), &ExecRequest{Command: []string{"true"}})
	if err != ErrTaskNotRunning {
		t.Fatalf("exec into a missing task: %v", err)
	}
}

func TestExecIsolationNames(t *testing.T) {
	if ExecHost.String() != "host" || ExecTaskNamespaces.String() != "task-namespaces" {
		t.Fatal("names")
	}
}
