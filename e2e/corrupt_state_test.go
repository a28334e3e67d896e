package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/testutil"
)

// TestSecurityCorruptStateBinary starts the built binary on a data dir
// whose raft.db, then client.db, was damaged: it must exit non-zero with
// the file's name and the remedy, and no panic or fault; with
// ROAM_RESET_STATE it must come up. Fails on the old code: a truncated
// raft.db kills the agent with SIGBUS ("fatal error: fault"), an empty one
// founds a new cluster.
func TestSecurityCorruptStateBinary(t *testing.T) {
	dataDir := t.TempDir()
	testutil.CleanupMounts(t, dataDir)
	a := startAgent(t, dataDir, serverClientConfig(t, dataDir))
	a.stop()

	for _, c := range []struct {
		rel    string
		damage func(path string) error
	}{
		{filepath.Join("server", "raft", "raft.db"), func(p string) error { return truncateHalf(p) }},
		{filepath.Join("client", "client.db"), func(p string) error { return os.Truncate(p, 0) }},
	} {
		path := filepath.Join(dataDir, c.rel)
		if err := c.damage(path); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		out, err := exec.CommandContext(ctx, roamBin, "agent", "-config", a.cfgPath).CombinedOutput()
		timedOut := ctx.Err() != nil
		cancel()
		if err == nil {
			t.Fatalf("%s: agent exited 0 on damaged state:\n%s", c.rel, out)
		}
		if timedOut {
			t.Fatalf("%s: agent still running on damaged state:\n%s", c.rel, out)
		}
		text := string(out)
		if strings.Contains(text, "panic:") || strings.Contains(text, "fatal error") {
			t.Fatalf("%s: agent crashed instead of refusing:\n%s", c.rel, text)
		}
		if !strings.Contains(text, path) || !strings.Contains(text, "-reset-state") {
			t.Fatalf("%s: message does not name the file and the remedy:\n%s", c.rel, text)
		}
		t.Setenv("ROAM_RESET_STATE", "true")
		b := launch(t, dataDir, a.cfgPath)
		b.stop()
		os.Unsetenv("ROAM_RESET_STATE")
	}
}

func truncateHalf(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.Truncate(path, fi.Size()/2)
}
