package exec

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
)

// A task leaves symlinks in its own dir for its next run; a volume_mount
// destination then names a path through them. The mount point must be made
// inside the task's root, never in the host's tree the init step still has
// at /.roam-host, nor through a link into a host directory mounted from
// chroot_env. (Before confine, the init step followed the link and created
// the mount point on the host's filesystem, as root.)
func TestSecurityHostPathsVolumeMountDestinationLink(t *testing.T) {
	d := newDriver(t)
	outside := t.TempDir() // a host directory no task may write
	cases := map[string]struct {
		link, target string
		created      string // what must not appear on the host
	}{
		"host tree":  {"local/out", "/.roam-host" + outside, filepath.Join(outside, "made")},
		"climb":      {"local/up", "../../../../../../../../.roam-host" + outside, filepath.Join(outside, "made")},
		"chroot_env": {"local/usr", "/usr", "/usr/made"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := taskConfig(t, sh("true"))
			if err := os.Symlink(c.target, filepath.Join(cfg.TaskDir.Dir, c.link)); err != nil {
				t.Fatal(err)
			}
			cfg.Mounts = []*drivers.MountConfig{{HostPath: hostVolume(t), TaskPath: "/" + c.link + "/made"}}
			_, err := d.StartTask(context.Background(), cfg)
			if err == nil {
				t.Cleanup(func() { _ = d.DestroyTask(context.Background(), cfg.ID, true) })
				waitExit(t, d, cfg.ID, 30*time.Second)
			}
			if _, serr := os.Lstat(c.created); !os.IsNotExist(serr) {
				os.Remove(c.created)
				t.Fatalf("start (%v) created %s on the host", err, c.created)
			}
			if err == nil || !strings.Contains(err.Error(), "mount point") {
				t.Fatalf("start: %v, want a refused mount point", err)
			}
		})
	}
}

// The same link is harmless when it stays in the task's root: an absolute
// symlink means the task's "/", and the volume is mounted there.
func TestSecurityHostPathsVolumeMountDestinationInRoot(t *testing.T) {
	d := newDriver(t)
	cfg := taskConfig(t, sh("cat /local/in/seed"))
	cfg.User = "root"
	if err := os.MkdirAll(filepath.Join(cfg.TaskDir.Dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/data", filepath.Join(cfg.TaskDir.LocalDir, "in")); err != nil {
		t.Fatal(err)
	}
	vol := hostVolume(t)
	if err := os.WriteFile(filepath.Join(vol, "seed"), []byte("seeded\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Mounts = []*drivers.MountConfig{{HostPath: vol, TaskPath: "/local/in"}}
	if out := runOK(t, d, cfg); out != "seeded\n" {
		t.Fatalf("output %q", out)
	}
}

// An exec into the task looks for its command inside the task's root: a
// link the task planted to a host path must not be judged by the host's
// file of that name (which told the task what exists on the host). (Before
// confine, the lookup followed the link on the host and the exec failed
// later, differently from a missing file.)
func TestSecurityHostPathsExecLookupStaysInRoot(t *testing.T) {
	d := newDriver(t)
	hostOnly := filepath.Join(t.TempDir(), "host-only")
	if err := os.WriteFile(hostOnly, []byte("#!/bin/sh\necho host\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, release := fifoTask(t, "")
	if err := os.Symlink(hostOnly, filepath.Join(cfg.TaskDir.LocalDir, "probe")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(hostOnly+"-missing", filepath.Join(cfg.TaskDir.LocalDir, "missing")); err != nil {
		t.Fatal(err)
	}
	start(t, d, cfg)
	defer release()
	waitFileContains(t, cfg.StdoutPath, "ready")
	var errs []string
	for _, cmd := range []string{"/local/probe", "/local/missing"} {
		_, err := d.ExecTask(cfg.ID, []string{cmd}, 10*time.Second)
		if err == nil {
			t.Fatalf("exec %s ran", cmd)
		}
		errs = append(errs, strings.ReplaceAll(err.Error(), cmd, "CMD"))
	}
	if errs[0] != errs[1] || !strings.Contains(errs[0], "not found in the task") {
		t.Fatalf("a link to a host file and a link to nothing differ: %q vs %q", errs[0], errs[1])
	}
}

// /proc and /dev are made by the init step on every run: a task that left
// them as links into the host's tree gets a refused start, not a directory
// made on the host. (This held before too, by MkdirAll refusing a dangling
// link; the mount points are now judged like every other: a guard.)
func TestSecurityHostPathsProcDevLinks(t *testing.T) {
	d := newDriver(t)
	for _, name := range []string{"proc", "dev"} {
		t.Run(name, func(t *testing.T) {
			outside := filepath.Join(t.TempDir(), "made")
			cfg := taskConfig(t, sh("true"))
			if err := os.Symlink("/.roam-host"+outside, filepath.Join(cfg.TaskDir.Dir, name)); err != nil {
				t.Fatal(err)
			}
			_, err := d.StartTask(context.Background(), cfg)
			if err == nil {
				t.Cleanup(func() { _ = d.DestroyTask(context.Background(), cfg.ID, true) })
				waitExit(t, d, cfg.ID, 30*time.Second)
			}
			if _, serr := os.Lstat(outside); !os.IsNotExist(serr) {
				t.Fatalf("start (%v) made %s on the host", err, outside)
			}
			if err == nil {
				t.Fatal("started with /" + name + " leading into the host's tree")
			}
		})
	}
}

// A task running as root reads what chroot_env lends it of the host. The
// host's secrets in it (/etc/shadow and the rest of the executor's list)
// are masked: empty inside the task, untouched on the host, while the
// userland around them (/etc/passwd) stays readable. The masks follow the
// secret wherever a chroot_env entry puts it: /etc mounted elsewhere, or
// the file named alone. (Before the masks, the task printed the host's
// password hashes.)
func TestSecurityHostPathsChrootMasksHostSecrets(t *testing.T) {
	before, err := os.ReadFile("/etc/shadow")
	if err != nil || len(before) == 0 {
		t.Skipf("no /etc/shadow to mask here: %v", err)
	}
	env := DefaultChrootEnv()
	env["/etc"] = "/etc"
	env["/etc/"] = "/hostetc"     // the operator's own entries, masked too
	env["/etc/shadow"] = "/alone" // a secret named alone
	d := newDriver(t, func(c *Config) { c.ChrootEnv = env })
	cfg := taskConfig(t, sh(`for f in /etc/shadow /etc/gshadow /hostetc/shadow /alone; do
		echo "$f:$(cat $f 2>/dev/null | wc -c)"; done
		grep -c '^root:' /etc/passwd`))
	cfg.User = "root"
	out := runOK(t, d, cfg)
	want := "/etc/shadow:0\n/etc/gshadow:0\n/hostetc/shadow:0\n/alone:0\n1\n"
	if out != want {
		t.Errorf("task output:\n%s\nwant:\n%s", out, want)
	}
	// A job's volume_mount at "/" is mounted before /etc: it must not
	// lift the masks of what is mounted on top of it (today the start is
	// refused: nothing can be created inside a host volume).
	cfg = taskConfig(t, sh(`cat /etc/shadow 2>/dev/null | wc -c`))
	cfg.User = "root"
	cfg.Mounts = []*drivers.MountConfig{{HostPath: hostVolume(t), TaskPath: "/"}}
	if _, err := d.StartTask(context.Background(), cfg); err != nil {
		t.Logf("volume at /: refused: %v", err)
	} else {
		t.Cleanup(func() { _ = d.DestroyTask(context.Background(), cfg.ID, true) })
		waitExit(t, d, cfg.ID, 30*time.Second)
		if out, _ := os.ReadFile(cfg.StdoutPath); strings.TrimSpace(string(out)) != "0" {
			t.Errorf("volume at /: task read %s bytes of /etc/shadow", out)
		}
	}
	after, err := os.ReadFile("/etc/shadow")
	if err != nil || string(after) != string(before) {
		t.Fatalf("host /etc/shadow changed (%v)", err)
	}
}
