package executor

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/internal/confine"
	"github.com/roam-sh/roam/internal/logfile"
	"github.com/roam-sh/roam/testutil"
)

// A task writes the shared alloc dir, logs/ included: it can plant, under
// the name of a log file to come, a symlink to a host file, a FIFO, or make
// logs/ itself a link. Output must never reach the host file (the executor
// runs as root), and a FIFO must not hang the rotation. (Before confine,
// the rotator appended the task's output to the linked host file, and
// blocked forever opening the FIFO.)
func TestSecurityHostPathsLogsPlantedLink(t *testing.T) {
	base := t.TempDir()
	dir, outside := filepath.Join(base, "logs"), filepath.Join(base, "host-file")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outside, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "web.stdout.1")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(dir, "web.stderr.1"), 0o666); err != nil {
		t.Fatal(err)
	}
	for kind, want := range map[logfile.Kind]error{logfile.Stdout: confine.ErrEscapes, logfile.Stderr: confine.ErrNotRegular} {
		r, err := openRotator(&LogSpec{Dir: dir, Name: "web", MaxFiles: 3, MaxFileBytes: 4}, kind, testutil.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		werr := make(chan error, 1)
		go func() { _, err := r.Write([]byte("task output")); werr <- err }()
		select {
		case err = <-werr:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: rotating onto a planted file hangs", kind)
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: write across rotation: %v, want %v", kind, err, want)
		}
		r.Close()
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep" {
		t.Fatalf("host file now holds %q", b)
	}
}

// logs/ replaced by a link to a host directory: nothing is created there.
func TestSecurityHostPathsLogsDirLink(t *testing.T) {
	base := t.TempDir()
	dir, outside := filepath.Join(base, "logs"), filepath.Join(base, "host-dir")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, dir); err != nil {
		t.Fatal(err)
	}
	if r, err := openRotator(&LogSpec{Dir: dir, Name: "web"}, logfile.Stdout, testutil.Logger(t)); err == nil {
		r.Close()
		t.Fatal("opened a log file through a linked logs dir")
	} else if !errors.Is(err, confine.ErrEscapes) {
		t.Fatalf("err %v, want %v", err, confine.ErrEscapes)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("created in the host dir: %v", entries)
	}
}
