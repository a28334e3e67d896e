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
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/internal/cgroups"
	"github.com/roam-sh/roam/testutil"
)

func TestFingerprint(t *testing.T) {
	d := newDriver(t)
	fp := d.Fingerprint(context.Background())
	if fp.Health != drivers.HealthStateHealthy || fp.Attributes["driver.exec"] != "1" {
		t.Fatalf("fingerprint as root: %+v", fp)
	}
	notRoot := isolationFingerprint("exec", func() (*cgroups.Host, error) { return nil, errNotRoot })
	if notRoot.Health != drivers.HealthStateUndetected || notRoot.HealthDescription != "exec driver must run as root to isolate tasks" {
		t.Fatalf("not root: %+v", notRoot)
	}
	noCgroups := isolationFingerprint("exec", func() (*cgroups.Host, error) { return nil, cgroups.ErrNoCgroups })
	if noCgroups.Health != drivers.HealthStateUnhealthy ||
		noCgroups.HealthDescription != "exec driver cannot isolate tasks: no usable cgroup hierarchy mounted" || noCgroups.Attributes != nil {
		t.Fatalf("no cgroups: %+v", noCgroups)
	}
	d.isolation = func() (*cgroups.Host, error) { return nil, errNotRoot }
	if _, err := d.StartTask(context.Background(), taskConfig(t, sh("true"))); err == nil || !strings.Contains(err.Error(), "must run as root") {
		t.Fatalf("start without isolation: %v", err)
	}
}

// TestTaskSeesOnlyItsRoot: the root holds the chroot_env paths the host has,
// the task's own dirs and /dev, /proc; nothing else of the host; the dirs
// are writable by the task's user; roam's private dir shows nothing.
func TestTaskSeesOnlyItsRoot(t *testing.T) {
	d := newDriver(t)
	cfg := taskConfig(t, sh(`ls -A / | tr '\n' ' '; echo;
		echo hi > /local/a && echo hi > /tmp/b && echo hi > /alloc/data/c && echo hi > /secrets/d && echo writable;
		ls -A /private | wc -l; test -e /work || test -e /root || echo no-host-paths; ls /dev | tr '\n' ' '`))
	out := runOK(t, d, cfg)
	lines := strings.Split(out, "\n")
	want := []string{"alloc", "dev", "local", "private", "proc", "secrets", "tmp"}
	for host, inside := range DefaultChrootEnv() {
		if _, err := os.Stat(host); err == nil {
			want = append(want, strings.Split(strings.TrimPrefix(inside, "/"), "/")[0])
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)
	got := strings.Fields(lines[0])
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("root holds %v, want %v", got, want)
	}
	if lines[1] != "writable" || strings.TrimSpace(lines[2]) != "0" || lines[3] != "no-host-paths" {
		t.Fatalf("output %q", out)
	}
	for _, dev := range []string{"null", "zero", "urandom", "pts", "shm", "ptmx", "fd"} {
		if !slices.Contains(strings.Fields(lines[4]), dev) {
			t.Errorf("/dev lacks %s: %s", dev, lines[4])
		}
	}
	if b, err := os.ReadFile(filepath.Join(cfg.TaskDir.LocalDir, "a")); err != nil || string(b) != "hi\n" {
		t.Fatalf("write to /local not in the task dir: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(cfg.TaskDir.Dir, hostDirName)); !os.IsNotExist(err) {
		t.Fatalf("host root mount point left in the task dir: %v", err)
	}
}

const hostDirName = ".roam-host"

// TestPIDNamespace: the task is PID 1 and sees only its own processes;
// pid_mode = "host", when the operator allows it, shares the host's.
func TestPIDNamespace(t *testing.T) {
	d := newDriver(t)
	out := runOK(t, d, taskConfig(t, sh(`echo $$; ls /proc | grep -c '^[0-9]'`)))
	f := strings.Fields(out)
	if len(f) != 2 || f[0] != "1" {
		t.Fatalf("task pid %q, want 1", out)
	}
	if n, _ := strconv.Atoi(f[1]); n > 3 {
		t.Fatalf("task sees %d processes", n)
	}
	hostCfg := taskConfig(t, map[string]any{"command": "/bin/sh", "args": []any{"-c", "echo $$"}, "pid_mode": "host"})
	allowed := newDriver(t, func(c *Config) { c.Plugin.AllowedModes.PID = []string{"host"} })
	if out := strings.TrimSpace(runOK(t, allowed, hostCfg)); out == "1" {
		t.Fatalf("pid_mode host: task is pid 1")
	}
}

// TestDefaultUserIsNobody: no user means nobody, with its own group only and
// no capabilities at all.
func TestDefaultUserIsNobody(t *testing.T) {
	d := newDriver(t)
	out := runOK(t, d, taskConfig(t, sh(`id -u; id -g; id -G; grep -E '^Cap(Eff|Prm|Bnd|Amb)' /proc/self/status`)))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 7 || lines[0] != "65534" || lines[1] != "65534" || lines[2] != "65534" {
		t.Fatalf("identity %q", out)
	}
	for _, l := range lines[3:] {
		if !strings.HasSuffix(l, "0000000000000000") {
			t.Errorf("capabilities of nobody: %q", l)
		}
	}
}

func capMaskOf(names ...string) uint64 {
	var m uint64
	for _, n := range names {
		m |= 1 << capNumbers[n]
	}
	return m
}

func procCaps(t *testing.T, out, field string) uint64 {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in %q", field, out)
	return 0
}

// TestCapabilities: root gets the default set, cap_add and cap_drop adjust
// it, allow_caps bounds what may be added, and a non-root user gets added
// capabilities as ambient ones.
func TestCapabilities(t *testing.T) {
	d := newDriver(t)
	caps := func(user string, extra map[string]any) string {
		c := map[string]any{"command": "/bin/sh", "args": []any{"-c", "grep -E '^Cap' /proc/self/status"}}
		for k, v := range extra {
			c[k] = v
		}
		cfg := taskConfig(t, c)
		cfg.User = user
		return runOK(t, d, cfg)
	}
	def := capMaskOf(DefaultCapabilities()...)
	if got := procCaps(t, caps("root", nil), "CapEff"); got != def {
		t.Errorf("root CapEff %#x, want %#x", got, def)
	}
	out := caps("root", map[string]any{"cap_add": []any{"CAP_SYS_CHROOT"}, "cap_drop": []any{"chown", "kill"}})
	want := def &^ capMaskOf("chown", "kill")
	if got := procCaps(t, out, "CapEff"); got != want {
		t.Errorf("root with cap_drop CapEff %#x, want %#x", got, want)
	}
	if got := procCaps(t, out, "CapBnd"); got != want {
		t.Errorf("root with cap_drop CapBnd %#x, want %#x", got, want)
	}
	out = caps("nobody", map[string]any{"cap_add": []any{"net_bind_service"}})
	if got := procCaps(t, out, "CapAmb"); got != capMaskOf("net_bind_service") {
		t.Errorf("nobody with cap_add CapAmb %#x", got)
	}
	if got := procCaps(t, out, "CapEff"); got != capMaskOf("net_bind_service") {
		t.Errorf("nobody with cap_add CapEff %#x", got)
	}
	_, err := d.StartTask(context.Background(), taskConfig(t, map[string]any{"command": "/bin/true", "cap_add": []any{"sys_admin"}}))
	if err == nil || !strings.Contains(err.Error(), `"sys_admin" is not in the client's allow_caps`) {
		t.Fatalf("cap_add beyond allow_caps: %v", err)
	}
}

// TestHostnameIsolated: a task in its own UTS namespace may rename its host
// without touching the node's, and a HostsConfig hostname is applied.
func TestHostnameIsolated(t *testing.T) {
	d := newDriver(t, func(c *Config) { c.Plugin.AllowCaps = []string{"all"} })
	hostName, _ := os.Hostname()
	own, _ := os.Readlink("/proc/self/ns/uts")
	cfg := taskConfig(t, map[string]any{
		"command": "/bin/sh", "args": []any{"-c", "readlink /proc/self/ns/uts; hostname renamed-by-task && hostname"},
		"cap_add": []any{"sys_admin"},
	})
	cfg.User = "root"
	lines := strings.Fields(runOK(t, d, cfg))
	if len(lines) != 2 || lines[0] == own || lines[1] != "renamed-by-task" {
		t.Fatalf("task uts %v, host %s", lines, own)
	}
	if now, _ := os.Hostname(); now != hostName {
		t.Fatalf("host renamed to %q", now)
	}
}

func TestStartErrors(t *testing.T) {
	d := newDriver(t)
	for _, tc := range []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{"command": "no-such-binary-xyz"}, `command "no-such-binary-xyz" not found`},
		{map[string]any{"comand": "x"}, "comand: unknown key"},
		{map[string]any{"command": "/bin/true", "pid_mode": "shared"}, `pid_mode: namespace mode "shared"`},
		{map[string]any{"command": "/bin/true", "cap_drop": []any{"flying"}}, `unknown capability "flying"`},
		{map[string]any{"command": "/bin/true", "work_dir": "/does/not/exist"}, "work_dir"},
	} {
		_, err := d.StartTask(context.Background(), taskConfig(t, tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %v: error %v, want %q", tc.config, err, tc.want)
		}
	}
}

// TestStopEscalatesForPID1: a task that is PID 1 ignores signals it has no
// handler for; the stop escalates to SIGKILL after the kill timeout.
func TestStopEscalatesForPID1(t *testing.T) {
	d := newDriver(t)
	cfg := taskConfig(t, sh("echo ready; exec sleep 300"))
	h := start(t, d, cfg)
	waitFileContains(t, cfg.StdoutPath, "ready")
	// "ready" is printed by the shell just before it becomes sleep: a
	// signal in between reaches the shell (which exits 130), not the
	// handler-less PID 1 this test is about. Wait for the exec.
	eh, _ := executorHandle(t, h)
	testutil.WaitFor(t, 10*time.Second, func() error {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", eh.TaskPID))
		if err != nil || strings.TrimSpace(string(comm)) != "sleep" {
			return fmt.Errorf("task %d is %q (%v), not sleep yet", eh.TaskPID, comm, err)
		}
		return nil
	})
	began := time.Now()
	if err := d.StopTask(context.Background(), cfg.ID, 300*time.Millisecond, "SIGINT"); err != nil {
		t.Fatal(err)
	}
	res := waitExit(t, d, cfg.ID, 10*time.Second)
	if res.Signal != 9 || time.Since(began) < 300*time.Millisecond {
		t.Fatalf("exit %+v after %v", res, time.Since(began))
	}
}

// TestSignalReachesHandler: a handled signal reaches the task (PID 1) and
// not the processes it started.
func TestSignalReachesHandler(t *testing.T) {
	d := newDriver(t)
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

func TestExecTaskRunsInside(t *testing.T) {
	d := newDriver(t)
	cfg, release := fifoTask(t, "")
	start(t, d, cfg)
	defer release()
	waitFileContains(t, cfg.StdoutPath, "ready")
	res, err := d.ExecTask(cfg.ID, []string{"sh", "-c", "id -u; test -d /local && echo in-root; echo $NOMAD_TASK_DIR"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(res.Stdout)); !slices.Equal(got, []string{"65534", "in-root", "/local"}) || res.ExitResult.ExitCode != 0 {
		t.Fatalf("exec: %q %q %+v", res.Stdout, res.Stderr, res.ExitResult)
	}
	if _, err := d.ExecTask("nope", []string{"true"}, time.Second); !errors.Is(err, drivers.ErrTaskNotFound) {
		t.Fatalf("exec into unknown task: %v", err)
	}
}

var _ = fmt.Sprint
