package exec

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-sh/roam/drivers"
)

// hostVolume makes a host directory the task's user can write to.
func hostVolume(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vol")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestVolumes: a read-write volume's writes land on the host; a read-only
// one refuses writes with EROFS, even for root; both go away with the task.
func TestVolumes(t *testing.T) {
	d := newDriver(t)
	rw, ro := hostVolume(t), hostVolume(t)
	if err := os.WriteFile(filepath.Join(ro, "seed"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := taskConfig(t, sh(`echo written > /var/lib/data/hello && cat /config/seed && echo x > /config/new`))
	cfg.User = "root"
	cfg.Mounts = []*drivers.MountConfig{
		{HostPath: rw, TaskPath: "/var/lib/data"},
		{HostPath: ro, TaskPath: "config", Readonly: true},
	}
	out, res := run(t, d, cfg)
	stderr, _ := os.ReadFile(cfg.StderrPath)
	if res.ExitCode == 0 || out != "from host\n" || !strings.Contains(string(stderr), "Read-only file system") {
		t.Fatalf("exit %+v stdout %q stderr %q", res, out, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(rw, "hello")); err != nil || string(b) != "written\n" {
		t.Fatalf("write through the volume: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(ro, "new")); !os.IsNotExist(err) {
		t.Fatalf("read-only volume was written: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.TaskDir.Dir, "var/lib/data/hello")); !os.IsNotExist(err) {
		t.Fatalf("volume still mounted in the task dir after the task: %v", err)
	}
}

func TestVolumeErrors(t *testing.T) {
	d := newDriver(t)
	missing := taskConfig(t, sh("true"))
	missing.Mounts = []*drivers.MountConfig{{HostPath: "/no/such/volume/path", TaskPath: "/data"}}
	if _, err := d.StartTask(context.Background(), missing); err == nil || !strings.Contains(err.Error(), "/no/such/volume/path") {
		t.Fatalf("missing host path: %v", err)
	}
	inHost := taskConfig(t, sh("true"))
	inHost.Mounts = []*drivers.MountConfig{{HostPath: hostVolume(t), TaskPath: "/usr/roam-test-no-such-dir"}}
	_, err := d.StartTask(context.Background(), inHost)
	if err == nil || !strings.Contains(err.Error(), "inside /usr, a host directory") {
		t.Fatalf("mount point inside a host dir: %v", err)
	}
	if _, err := os.Stat("/usr/roam-test-no-such-dir"); !os.IsNotExist(err) {
		t.Fatal("created a directory on the host")
	}
}
