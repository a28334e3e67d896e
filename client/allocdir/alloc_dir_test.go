package allocdir

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/testutil"
)

func TestBuildLayoutAndPermissions(t *testing.T) {
	root := t.TempDir()
	d := New(root, "a1", testutil.Logger(t))
	t.Cleanup(func() { _ = d.Destroy() })
	if err := d.Build(); err != nil {
		t.Fatal(err)
	}
	td := d.TaskDir("web")
	if err := td.Build(); err != nil {
		t.Fatal(err)
	}
	// Building again (a restarted client) must neither fail nor stack mounts.
	if err := d.Build(); err != nil {
		t.Fatal(err)
	}
	if err := td.Build(); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{
		"a1", "a1/alloc", "a1/alloc/data", "a1/alloc/logs", "a1/alloc/tmp",
		"a1/web", "a1/web/local", "a1/web/secrets", "a1/web/private", "a1/web/tmp",
	} {
		fi, err := os.Stat(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o777)
		if rel == "a1/web/private" {
			want = 0o700 // roam's own files: the agent's user only
		}
		if !fi.IsDir() || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", rel, fi.Mode(), want)
		}
	}
	if td.StdoutPath() != filepath.Join(root, "a1/alloc/logs/web.stdout.0") ||
		td.StderrPath() != filepath.Join(root, "a1/alloc/logs/web.stderr.0") {
		t.Errorf("log paths %s %s", td.StdoutPath(), td.StderrPath())
	}
	dd := td.DriverTaskDir()
	if dd.LocalDir != filepath.Join(root, "a1/web/local") || dd.SharedAllocDir != filepath.Join(root, "a1/alloc") {
		t.Errorf("driver task dir %+v", dd)
	}
}

func TestSecretsAreTmpfsWhenRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("tmpfs mounts need root")
	}
	d := New(t.TempDir(), "a1", testutil.Logger(t))
	t.Cleanup(func() { _ = d.Destroy() })
	td := d.TaskDir("web")
	if err := d.Build(); err != nil {
		t.Fatal(err)
	}
	if err := td.Build(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{td.SecretsDir, td.PrivateDir} {
		var fs unix.Statfs_t
		if err := unix.Statfs(p, &fs); err != nil {
			t.Fatal(err)
		}
		if fs.Type != unix.TMPFS_MAGIC {
			t.Errorf("%s: filesystem type %#x, want tmpfs", p, fs.Type)
		}
		if fs.Flags&unix.ST_NOEXEC == 0 {
			t.Errorf("%s: not mounted noexec", p)
		}
		if mounted, _ := isMountPoint(p); !mounted {
			t.Errorf("%s: not a mount point", p)
		}
	}
}

func TestDestroyUnmountsAndRemoves(t *testing.T) {
	root := t.TempDir()
	d := New(root, "a1", testutil.Logger(t))
	if err := d.Build(); err != nil {
		t.Fatal(err)
	}
	td := d.TaskDir("web")
	if err := td.Build(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(td.SecretsDir, "token"), []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.LogDir(), "web.stdout.0"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A fresh AllocDir, as after a client restart, finds task dirs on disk.
	if err := New(root, "a1", testutil.Logger(t)).Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.Dir); !os.IsNotExist(err) {
		t.Fatalf("alloc dir still there: %v", err)
	}
	if mounted, _ := isMountPoint(td.SecretsDir); mounted {
		t.Fatal("secrets still mounted")
	}
	if err := d.Destroy(); err != nil {
		t.Fatalf("second destroy: %v", err)
	}
}
