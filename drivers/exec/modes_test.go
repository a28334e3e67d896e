package exec

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSecurityHostPIDModeGated: in the host's PID namespace a task as
// nobody reads the environment of every other process of nobody, another
// allocation's task included (the security review's pidspy.hcl). The mode
// is refused unless the operator lists it in allowed_modes, and works when
// listed.
func TestSecurityHostPIDModeGated(t *testing.T) {
	secret := fmt.Sprintf("ROAMTEST_SECRET=s%d-%d", os.Getpid(), time.Now().UnixNano())
	victim := taskConfig(t, sh("echo ready; exec sleep 300"))
	victim.Env["ROAMTEST_SECRET"] = strings.TrimPrefix(secret, "ROAMTEST_SECRET=")
	start(t, newDriver(t), victim)
	waitFileContains(t, victim.StdoutPath, "ready")

	spy := map[string]any{"command": "/bin/sh", "pid_mode": "host", "args": []any{"-c",
		`for f in /proc/[0-9]*/environ; do tr '\0' '\n' < "$f" 2>/dev/null; done | grep '^ROAMTEST_SECRET=' || true`}}
	_, err := newDriver(t).StartTask(context.Background(), taskConfig(t, spy))
	if err == nil || !strings.Contains(err.Error(), `pid_mode: "host" is not allowed on this node`) {
		t.Fatalf("pid_mode host with the default plugin config: err %v, want a refusal", err)
	}

	allowed := newDriver(t, func(c *Config) { c.Plugin.AllowedModes.PID = []string{"host"} })
	if out := runOK(t, allowed, taskConfig(t, spy)); !strings.Contains(out, secret) {
		t.Fatalf("pid_mode host allowed by the operator: the task does not see the host's processes (got %q)", out)
	}
	// The operator's default is allowed too, and a task may still ask for
	// a namespace of its own.
	byDefault := newDriver(t, func(c *Config) { c.Plugin.DefaultPIDMode = "host" })
	if out := runOK(t, byDefault, taskConfig(t, spy)); !strings.Contains(out, secret) {
		t.Fatalf("default_pid_mode host: got %q", out)
	}
	private := taskConfig(t, sh("echo $$"))
	private.Config["pid_mode"] = "private"
	if out := strings.TrimSpace(runOK(t, byDefault, private)); out != "1" {
		t.Fatalf("pid_mode private under default_pid_mode host: pid %q, want 1", out)
	}
}

// TestSecurityHostIPCModeGated: the host's IPC namespace (shared memory of
// every process outside a namespace) only when the operator lists it.
func TestSecurityHostIPCModeGated(t *testing.T) {
	hostNS, err := os.Readlink("/proc/self/ns/ipc")
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{"command": "/bin/sh", "ipc_mode": "host", "args": []any{"-c", "readlink /proc/self/ns/ipc"}}
	_, err = newDriver(t).StartTask(context.Background(), taskConfig(t, cfg))
	if err == nil || !strings.Contains(err.Error(), `ipc_mode: "host" is not allowed on this node`) {
		t.Fatalf("ipc_mode host with the default plugin config: err %v, want a refusal", err)
	}
	d := newDriver(t, func(c *Config) { c.Plugin.AllowedModes.IPC = []string{"host"} })
	if out := strings.TrimSpace(runOK(t, d, taskConfig(t, cfg))); out != hostNS {
		t.Fatalf("ipc_mode host allowed: task's namespace %q, want the host's %q", out, hostNS)
	}
	if out := strings.TrimSpace(runOK(t, d, taskConfig(t, map[string]any{"command": "/bin/sh", "args": []any{"-c", "readlink /proc/self/ns/ipc"}}))); out == hostNS {
		t.Fatal("a task that asks for no mode shares the host's IPC namespace")
	}
}

func TestAllowedModesConfig(t *testing.T) {
	pc, err := ParsePluginConfig("exec", map[string]any{"allowed_modes": []any{map[string]any{"pid": []any{"host"}, "ipc": []any{"private"}}}})
	if err != nil || len(pc.AllowedModes.PID) != 1 {
		t.Fatalf("allowed_modes: %+v %v", pc.AllowedModes, err)
	}
	if _, err := ParsePluginConfig("exec", map[string]any{"allowed_modes": []any{map[string]any{"pid": []any{"shared"}}}}); err == nil || !strings.Contains(err.Error(), `allowed_modes.pid[0]: "shared"`) {
		t.Fatalf("bad allowed mode: %v", err)
	}
}
