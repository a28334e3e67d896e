package exec

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-sh/roam/drivers"
)

// A command in local/ that is not there yet fails the start with an error
// naming the missing file, recoverable so the restart policy tries again;
// once the file is there the task starts.
func TestMissingTaskFileIsRecoverable(t *testing.T) {
	d := newDriver(t)
	cfg := taskConfig(t, map[string]any{"command": "local/app"})
	_, err := d.StartTask(context.Background(), cfg)
	if err == nil || !drivers.IsRecoverable(err) || !strings.Contains(err.Error(), "command local/app: no such file in the task directory") {
		t.Fatalf("start without local/app: %v (recoverable %v)", err, drivers.IsRecoverable(err))
	}
	if err := os.WriteFile(filepath.Join(cfg.TaskDir.LocalDir, "app"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	start(t, d, cfg)
	if res := waitExit(t, d, cfg.ID, 30e9); !res.Successful() {
		t.Fatalf("local/app exited %+v", res)
	}
}

func TestCheckTaskFile(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"local/there"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), nil, 0o755)
	}
	host := t.TempDir()
	os.Symlink(host, filepath.Join(dir, "local", "hostdir"))
	os.Symlink(filepath.Join(host, "nothing"), filepath.Join(dir, "local", "dangling"))
	for _, tc := range []struct {
		command string
		missing bool
	}{
		{"local/there", false},
		{"local/api", true},
		{"nolocal/api", true},
		{"./local/api", true},
		{"/bin/sh", false},               // found inside the root at exec time
		{"sh", false},                    // a PATH lookup inside the root
		{"local/hostdir/nothing", false}, // through a link: the root's lookup decides
		{"local/dangling", false},        // a link: the same
		{"../../etc/passwd", false},      // out of the task dir: the same
	} {
		err := checkTaskFile(dir, tc.command)
		if (err != nil) != tc.missing || (err != nil && !drivers.IsRecoverable(err)) {
			t.Errorf("%s: %v, want missing %v", tc.command, err, tc.missing)
		}
	}
}
