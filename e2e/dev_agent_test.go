package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/testutil"
)

// devPortsConfig gives a -dev agent ports of its own and, unless bridge is
// set, no bridge (the bridge tests name theirs).
func devPortsConfig(t *testing.T, extraClient string) string {
	t.Helper()
	cfg := fmt.Sprintf(`
ports {
  http = %d
  rpc  = %d
  serf = %d
}
client {
  network_interface = "lo"
%s}
`, freePort(t), freePort(t), freePort(t), extraClient)
	p := filepath.Join(t.TempDir(), "dev.hcl")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDevAgentSignalDuringStartup: SIGINT sent while `roam agent -dev` is
// still starting (its server up, its client not yet ready) shuts it down
// cleanly: it exits with status 0 and removes its temporary data dir,
// rather than dying half-started with its state left behind.
func TestDevAgentSignalDuringStartup(t *testing.T) {
	tmp := t.TempDir()
	cfg := devPortsConfig(t, "  disable_bridge_network = true\n")
	var out testutil.SyncBuffer
	cmd := exec.Command(roamBin, "agent", "-dev", "-config", cfg)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	// The server logs its start before the client is built and before the
	// agent reports ready: a signal now arrives during start-up.
	testutil.WaitFor(t, 30*time.Second, func() error {
		if !strings.Contains(out.String(), "server started") {
			return fmt.Errorf("server not started yet")
		}
		return nil
	})
	if strings.Contains(out.String(), "agent ready") {
		t.Skip("the agent was ready before the signal could be sent")
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("agent exit after SIGINT during start-up: %v\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("agent still running 60s after SIGINT:\n%s", out.String())
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "roam-dev-*"))
	if len(left) > 0 {
		t.Errorf("dev data dir left behind: %v", left)
	}
}
