package rawexec

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/roam-sh/roam/testutil"
)

func TestMain(m *testing.M) {
	executortest.MaybeRun()
	os.Exit(m.Run())
}

func newDriver(t *testing.T, enabled bool) *Driver {
	t.Helper()
	d := New(Config{Plugin: PluginConfig{Enabled: enabled}, Executor: executortest.Binary(), Logger: testutil.Logger(t)})
	t.Cleanup(d.Shutdown)
	return d
}

// taskConfig builds a task with its own directories under a temp dir.
func taskConfig(t *testing.T, config map[string]any) *drivers.TaskConfig {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "web")
	td := drivers.TaskDir{
		Dir: dir, SharedAllocDir: filepath.Join(root, "alloc"), LocalDir: filepath.Join(dir, "local"),
		SecretsDir: filepath.Join(dir, "secrets"), PrivateDir: filepath.Join(dir, "private"),
		TmpDir: filepath.Join(dir, "tmp"), LogDir: filepath.Join(root, "alloc", "logs"),
	}
	for _, p := range []string{td.LocalDir, td.SecretsDir, td.PrivateDir, td.TmpDir, td.LogDir} {
		if err := os.MkdirAll(p, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	return &drivers.TaskConfig{
		ID: "alloc1/web/" + strconv.FormatInt(time.Now().UnixNano(), 36), Name: "web", AllocID: "alloc1",
		Env:    map[string]string{"PATH": os.Getenv("PATH"), "NOMAD_TASK_DIR": td.LocalDir},
		Config: config, TaskDir: td,
		StdoutPath: filepath.Join(td.LogDir, "web.stdout.0"), StderrPath: filepath.Join(td.LogDir, "web.stderr.0"),
	}
}

func sh(script string) map[string]any {
	return map[string]any{"command": "/bin/sh", "args": []any{"-c", script}}
}

// start starts a task and makes sure nothing it started survives the test.
func start(t *testing.T, d *Driver, cfg *drivers.TaskConfig) *drivers.TaskHandle {
	t.Helper()
	h, err := d.StartTask(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	cleanupTask(t, h)
	return h
}

// cleanupTask kills what h started when the test ends.
func cleanupTask(t *testing.T, h *drivers.TaskHandle) {
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

func waitFileContains(t *testing.T, path, want string) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, func() error {
		b, _ := os.ReadFile(path)
		if !strings.Contains(string(b), want) {
			return fmt.Errorf("%s = %q, want it to contain %q", path, b, want)
		}
		return nil
	})
}

func TestFingerprint(t *testing.T) {
	off := newDriver(t, false).Fingerprint(context.Background())
	if off.Health != drivers.HealthStateUndetected || off.HealthDescription != "disabled" || off.Attributes["driver.raw_exec"] != "" {
		t.Fatalf("disabled fingerprint %+v", off)
	}
	on := newDriver(t, true).Fingerprint(context.Background())
	if on.Health != drivers.HealthStateHealthy || on.Attributes["driver.raw_exec"] != "1" {
		t.Fatalf("enabled fingerprint %+v", on)
	}
	cfg := taskConfig(t, sh("true"))
	if _, err := newDriver(t, false).StartTask(context.Background(), cfg); !errors.Is(err, drivers.ErrDisabled) {
		t.Fatalf("start on disabled driver: %v", err)
	}
}

func TestExitCodeAndLogs(t *testing.T) {
	d := newDriver(t, true)
	cfg := taskConfig(t, sh(`echo "out $FOO"; echo "dir $NOMAD_TASK_DIR"; echo oops >&2; pwd; exit 3`))
	cfg.Env["FOO"] = "bar"
	start(t, d, cfg)
	res := waitExit(t, d, cfg.ID, 10*time.Second)
	if res.ExitCode != 3 || res.Signal != 0 || res.Err != nil || res.Successful() {
		t.Fatalf("exit %+v", res)
	}
	out, _ := os.ReadFile(cfg.StdoutPath)
	want := fmt.Sprintf("out bar\ndir %s\n%s\n", cfg.TaskDir.LocalDir, cfg.TaskDir.Dir)
	if string(out) != want {
		t.Fatalf("stdout %q, want %q", out, want)
	}
	if errOut, _ := os.ReadFile(cfg.StderrPath); string(errOut) != "oops\n" {
		t.Fatalf("stderr %q", errOut)
	}
	st, err := d.InspectTask(cfg.ID)
	if err != nil || st.State != drivers.TaskStateExited || st.ExitResult.ExitCode != 3 {
		t.Fatalf("inspect %+v %v", st, err)
	}
	if err := d.DestroyTask(context.Background(), cfg.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := d.InspectTask(cfg.ID); !errors.Is(err, drivers.ErrTaskNotFound) {
		t.Fatalf("inspect after destroy: %v", err)
	}
}

func TestWorkDirAndRelativeCommand(t *testing.T) {
	d := newDriver(t, true)
	cfg := taskConfig(t, map[string]any{"command": "hello.sh", "work_dir": "local"})
	script := "#!/bin/sh\necho \"hi from $(pwd)\"\n"
	if err := os.WriteFile(filepath.Join(cfg.TaskDir.LocalDir, "hello.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	start(t, d, cfg)
	if res := waitExit(t, d, cfg.ID, 10*time.Second); !res.Successful() {
		t.Fatalf("exit %+v", res)
	}
	waitFileContains(t, cfg.StdoutPath, "hi from "+cfg.TaskDir.LocalDir)
}

func TestStartErrors(t *testing.T) {
	d := newDriver(t, true)
	if _, err := d.StartTask(context.Background(), taskConfig(t, map[string]any{"command": "no-such-binary-xyz"})); err == nil ||
		!strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing binary: %v", err)
	}
	if _, err := d.StartTask(context.Background(), taskConfig(t, map[string]any{"comand": "x"})); err == nil ||
		!strings.Contains(err.Error(), "comand: unknown key") {
		t.Fatalf("bad config: %v", err)
	}
}

func TestStopWithSignal(t *testing.T) {
	d := newDriver(t, true)
	cfg := taskConfig(t, sh(`echo ready; exec sleep 300`))
	start(t, d, cfg)
	waitFileContains(t, cfg.StdoutPath, "ready")
	if err := d.StopTask(context.Background(), cfg.ID, 10*time.Second, "SIGTERM"); err != nil {
		t.Fatal(err)
	}
	res := waitExit(t, d, cfg.ID, 10*time.Second)
	if res.Signal != int(syscall.SIGTERM) || res.ExitCode != 128+int(syscall.SIGTERM) {
		t.Fatalf("exit %+v", res)
	}
}

// TestSignalTask: a signal reaches the task's main process, not its child.
func TestSignalTask(t *testing.T) {
	d := newDriver(t, true)
	cfg := taskConfig(t, sh(executortest.SignalScript))
	start(t, d, cfg)
	for _, line := range executortest.SignalReadyLines {
		waitFileContains(t, cfg.StdoutPath, line)
	}
	if err := d.SignalTask(cfg.ID, "SIGUSR1"); err != nil {
		t.Fatal(err)
	}
	if res := waitExit(t, d, cfg.ID, 10*time.Second); res.ExitCode != 4 {
		t.Fatalf("exit %+v", res)
	}
	executortest.CheckSignalled(t, cfg.StdoutPath)
}

func TestKillTimeoutEscalates(t *testing.T) {
	d := newDriver(t, true)
	cfg := taskConfig(t, sh(`trap '' INT TERM; echo ready; while :; do sleep 0.05; done`))
	start(t, d, cfg)
	waitFileContains(t, cfg.StdoutPath, "ready")
	const timeout = 300 * time.Millisecond
	began := time.Now()
	if err := d.StopTask(context.Background(), cfg.ID, timeout, ""); err != nil {
		t.Fatal(err)
	}
	res := waitExit(t, d, cfg.ID, 10*time.Second)
	if res.Signal != int(syscall.SIGKILL) {
		t.Fatalf("exit %+v, want SIGKILL", res)
	}
	if took := time.Since(began); took < timeout {
		t.Fatalf("killed after %v, before the %v kill timeout", took, timeout)
	}
}

// fifoTask blocks until the test writes to its fifo, then exits 7.
func fifoTask(t *testing.T) (*drivers.TaskConfig, func()) {
	cfg := taskConfig(t, nil)
	fifo := filepath.Join(cfg.TaskDir.LocalDir, "go")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Config = sh(`echo ready; read line < "` + fifo + `"; echo "got $line"; exit 7`)
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

func taskPID(t *testing.T, d *Driver, id string) int {
	t.Helper()
	st, err := d.InspectTask(id)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(st.DriverAttributes["pid"])
	return pid
}

// TestRecoverRunningTask: a new driver (a restarted client) re-attaches to a
// running task without restarting it and sees its exit.
func TestRecoverRunningTask(t *testing.T) {
	d1 := newDriver(t, true)
	cfg, release := fifoTask(t)
	h := start(t, d1, cfg)
	waitFileContains(t, cfg.StdoutPath, "ready")
	pid := taskPID(t, d1, cfg.ID)
	d1.Shutdown()

	d2 := newDriver(t, true)
	if err := d2.RecoverTask(h.Copy()); err != nil {
		t.Fatal(err)
	}
	if got := taskPID(t, d2, cfg.ID); got != pid {
		t.Fatalf("pid after recover %d, want %d", got, pid)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("task %d not running after recover: %v", pid, err)
	}
	release()
	if res := waitExit(t, d2, cfg.ID, 10*time.Second); res.ExitCode != 7 {
		t.Fatalf("exit %+v", res)
	}
	if out, _ := os.ReadFile(cfg.StdoutPath); string(out) != "ready\ngot go\n" {
		t.Fatalf("stdout %q (started more than once?)", out)
	}
}

// TestRecoverTaskThatExitedWhileDown: the task ends while no client runs; the
// executor records the exit and the next client reads it.
func TestRecoverTaskThatExitedWhileDown(t *testing.T) {
	d1 := newDriver(t, true)
	cfg, release := fifoTask(t)
	h := start(t, d1, cfg)
	waitFileContains(t, cfg.StdoutPath, "ready")
	var eh executor.Handle
	_ = h.GetDriverState(&eh)
	d1.Shutdown()

	release()
	testutil.WaitFor(t, 10*time.Second, func() error {
		if eh.ExecutorAlive() {
			return fmt.Errorf("executor %d still running", eh.ExecutorPID)
		}
		return nil
	})

	d2 := newDriver(t, true)
	if err := d2.RecoverTask(h.Copy()); err != nil {
		t.Fatal(err)
	}
	if res := waitExit(t, d2, cfg.ID, 5*time.Second); res.ExitCode != 7 {
		t.Fatalf("exit %+v", res)
	}
}

// TestRecoverLostExecutor: an executor killed without a record means the task
// is lost; recovery fails and the orphaned task is killed.
func TestRecoverLostExecutor(t *testing.T) {
	d1 := newDriver(t, true)
	cfg := taskConfig(t, sh(`echo ready; exec sleep 300`))
	h := start(t, d1, cfg)
	waitFileContains(t, cfg.StdoutPath, "ready")
	var eh executor.Handle
	_ = h.GetDriverState(&eh)
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
	d2 := newDriver(t, true)
	if err := d2.RecoverTask(h.Copy()); !errors.Is(err, executor.ErrExecutorLost) {
		t.Fatalf("recover: %v", err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if eh.TaskAlive() {
			return fmt.Errorf("orphaned task %d still running", eh.TaskPID)
		}
		return nil
	})
}

func TestExecTask(t *testing.T) {
	d := newDriver(t, true)
	cfg, release := fifoTask(t)
	cfg.Env["FOO"] = "from-task"
	start(t, d, cfg)
	defer release()
	res, err := d.ExecTask(cfg.ID, []string{"/bin/sh", "-c", "echo $FOO; exit 2"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "from-task\n" || res.ExitResult.ExitCode != 2 {
		t.Fatalf("exec %q %+v", res.Stdout, res.ExitResult)
	}
}
