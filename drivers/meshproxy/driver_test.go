package meshproxy

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/executor"
	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/drivers/rawexec"
	"github.com/roam-sh/roam/testutil"
)

func TestMain(m *testing.M) {
	executortest.MaybeRun()
	os.Exit(m.Run())
}

// fakeProxy is a stand-in for `roam connect proxy`: it takes the proxy's
// arguments, takes a while to "open its listeners", then writes the ready
// file (or exits without it) and stays up.
func fakeProxy(t *testing.T, body string) *Driver {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "roam")
	script := "#!/bin/sh\nwhile [ \"$1\" != -ready ]; do shift; done\nready=$2\n" + body + "\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	raw := rawexec.New(rawexec.Config{Plugin: rawexec.PluginConfig{Enabled: true}, Executor: executortest.Binary(), Logger: testutil.Logger(t)})
	t.Cleanup(raw.Shutdown)
	return New(executor.Binary{Path: bin}, raw)
}

func proxyTask(t *testing.T) *drivers.TaskConfig {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "connect-proxy-web")
	td := drivers.TaskDir{Dir: dir, SharedAllocDir: filepath.Join(root, "alloc"), LocalDir: filepath.Join(dir, "local"),
		SecretsDir: filepath.Join(dir, "secrets"), PrivateDir: filepath.Join(dir, "private"),
		TmpDir: filepath.Join(dir, "tmp"), LogDir: filepath.Join(root, "alloc", "logs")}
	for _, p := range []string{td.LocalDir, td.SecretsDir, td.PrivateDir, td.TmpDir, td.LogDir} {
		if err := os.MkdirAll(p, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	return &drivers.TaskConfig{ID: "alloc1/connect-proxy-web/" + strconv.FormatInt(time.Now().UnixNano(), 36),
		Name: "connect-proxy-web", AllocID: "alloc1", Env: map[string]string{"PATH": os.Getenv("PATH")}, TaskDir: td,
		StdoutPath: filepath.Join(td.LogDir, "p.stdout.0"), StderrPath: filepath.Join(td.LogDir, "p.stderr.0")}
}

// killTask ends what h started when the test ends.
func killTask(t *testing.T, h *drivers.TaskHandle) {
	t.Helper()
	var eh executor.Handle
	if err := h.GetDriverState(&eh); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-eh.TaskPID, syscall.SIGKILL)
		_ = syscall.Kill(eh.ExecutorPID, syscall.SIGKILL)
	})
}

// StartTask returns only once the proxy says it listens, so the task
// runner starts the application (after its prestart sidecars) only then:
// the application never starts before its upstreams listen (nomad#15709).
func TestStartReturnsOnceTheProxyListens(t *testing.T) {
	d := fakeProxy(t, `sleep 0.5; touch "$ready"; exec sleep 300`)
	cfg := proxyTask(t)
	h, err := d.StartTask(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	killTask(t, h)
	if _, err := os.Stat(filepath.Join(cfg.TaskDir.PrivateDir, ReadyFile)); err != nil {
		t.Fatalf("StartTask returned before the proxy was ready: %v", err)
	}
}

// A proxy that exits before it listens fails the start with a message that
// says so, rather than a task that seems to run.
func TestStartFailsWhenTheProxyExitsFirst(t *testing.T) {
	d := fakeProxy(t, `echo "no leaf" >&2; exit 1`)
	_, err := d.StartTask(context.Background(), proxyTask(t))
	if err == nil || !strings.Contains(err.Error(), "exited before it listened") {
		t.Fatalf("start: %v, want an error saying the proxy exited before it listened", err)
	}
}

// The proxy runs as root in the node's namespaces, so nothing is run
// beside it: the task runner sees no exec capability, and a direct call
// is refused too (the embedded raw_exec driver would run it on the host).
func TestExecIntoTheProxyIsRefused(t *testing.T) {
	d := fakeProxy(t, `touch "$ready"; exec sleep 300`)
	cfg := proxyTask(t)
	h, err := d.StartTask(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	killTask(t, h)
	if d.Capabilities().Exec {
		t.Fatal("connect_proxy advertises exec")
	}
	if _, err := d.ExecTask(cfg.ID, []string{"/bin/true"}, 5*time.Second); err == nil {
		t.Fatal("ExecTask ran a command beside the proxy")
	}
	if _, err := d.ExecTaskStreaming(context.Background(), cfg.ID, &drivers.ExecOptions{Command: []string{"/bin/true"}}); err == nil {
		t.Fatal("ExecTaskStreaming ran a command beside the proxy")
	}
}
