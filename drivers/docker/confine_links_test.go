package docker

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-sh/roam/internal/confine"
	"github.com/roam-sh/roam/testutil"
)

// Every job-named bind source is resolved beneath the allocation dir when
// the container starts, whatever the task planted there: absolute links,
// links through /proc, a linked parent directory, links that climb out.
// Legitimate paths are bound and show what they held. (Before confine, each
// planted link was handed to Docker as a path, which Docker followed.)
func TestSecurityHostPathsPlantedLinks(t *testing.T) {
	requireRoot(t)
	outside := t.TempDir()
	cfg := pureTaskIn(t)
	local := cfg.TaskDir.LocalDir
	mustDo(t, os.MkdirAll(filepath.Join(local, "real"), 0o755))
	mustDo(t, os.WriteFile(filepath.Join(local, "real", "f"), []byte("inside"), 0o644))
	links := map[string]string{
		"abs":       outside,
		"proc":      "/proc/self/root",
		"climb":     strings.Repeat("../", 12) + strings.TrimPrefix(outside, "/"),
		"dirlink":   outside, // named as local/dirlink/sub: the parent is the link
		"procclimb": strings.Repeat("../", 12) + "proc/self/root",
	}
	for name, target := range links {
		mustDo(t, os.Symlink(target, filepath.Join(local, name)))
	}
	mustDo(t, os.MkdirAll(filepath.Join(outside, "sub"), 0o755))
	d := &Driver{cfg: Config{BindDir: t.TempDir()}, logger: testutil.Logger(t)}
	for _, src := range []string{"local/abs", "local/proc", "local/climb", "local/dirlink/sub", "local/procclimb"} {
		t.Run(src, func(t *testing.T) {
			for _, key := range []string{"volumes", "mount"} {
				spec := specWith(t, cfg, key, src)
				if b, err := d.confineBinds(cfg, spec); err == nil {
					b.release(d.logger)
					t.Fatalf("%s %s: bound %v %v", key, src, spec.host.Binds, spec.host.Mounts)
				} else if !errors.Is(err, confine.ErrEscapes) {
					t.Fatalf("%s %s: %v, want %v", key, src, err, confine.ErrEscapes)
				}
			}
		})
	}
	// roam's private dirs, named or linked to, of this task or another.
	mustDo(t, os.MkdirAll(cfg.TaskDir.PrivateDir, 0o755))
	mustDo(t, os.MkdirAll(filepath.Join(cfg.AllocDir, "other", "private"), 0o755))
	mustDo(t, os.Symlink("../private", filepath.Join(local, "priv")))
	for _, src := range []string{"private", "../other/private", "local/priv", "./private/"} {
		for _, key := range []string{"volumes", "mount"} {
			if b, err := d.confineBinds(cfg, specWith(t, cfg, key, src)); err == nil {
				b.release(d.logger)
				t.Fatalf("%s %s: a private dir bound", key, src)
			} else if !errors.Is(err, errPrivate) {
				t.Fatalf("%s %s: %v, want %v", key, src, err, errPrivate)
			}
		}
	}
	spec := specWith(t, cfg, "mount", "local/real")
	b, err := d.confineBinds(cfg, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer b.release(d.logger)
	got, err := os.ReadFile(filepath.Join(spec.host.Mounts[0].Source, "f"))
	if err != nil || string(got) != "inside" {
		t.Fatalf("bound %s: %q %v", spec.host.Mounts[0].Source, got, err)
	}
}

// `load` names a tarball in local/; a link planted there to a host file
// must not be read (and sent to the daemon). The tarball is opened beneath
// the allocation dir, regular files only.
func TestSecurityHostPathsLoadThroughLink(t *testing.T) {
	cfg := pureTaskIn(t)
	hostFile := filepath.Join(t.TempDir(), "host.tar")
	mustDo(t, os.WriteFile(hostFile, []byte("not yours"), 0o600))
	mustDo(t, os.Symlink(hostFile, filepath.Join(cfg.TaskDir.LocalDir, "img.tar")))
	p, err := loadPath(cfg, "img.tar")
	if err != nil {
		t.Fatal(err)
	}
	if err := loadFile(t.Context(), nil, cfg.AllocDir, p); !errors.Is(err, confine.ErrEscapes) {
		t.Fatalf("load through a link: %v, want %v", err, confine.ErrEscapes)
	}
}

// `load` never reads a task's private/ file (roam's control files) through
// a link planted in local/.
func TestSecurityPrivateLoadThroughLink(t *testing.T) {
	cfg := pureTaskIn(t)
	mustDo(t, os.MkdirAll(cfg.TaskDir.PrivateDir, 0o700))
	mustDo(t, os.WriteFile(filepath.Join(cfg.TaskDir.PrivateDir, "spec.json"), []byte("{}"), 0o600))
	mustDo(t, os.Symlink("../private/spec.json", filepath.Join(cfg.TaskDir.LocalDir, "img.tar")))
	p, err := loadPath(cfg, "img.tar")
	if err != nil {
		t.Fatal(err)
	}
	if err := loadFile(t.Context(), nil, cfg.AllocDir, p); !errors.Is(err, confine.ErrEscapes) || !strings.Contains(err.Error(), "private/") {
		t.Fatalf("load through a link into private/: %v, want refused", err)
	}
}

// Binds left by a client that died mid-start are released when the driver
// starts again.
func TestSecurityHostPathsSweepLeftoverBinds(t *testing.T) {
	requireRoot(t)
	dir, src := t.TempDir(), t.TempDir()
	task := filepath.Join(dir, "task-1")
	mustDo(t, os.Mkdir(task, 0o700))
	f, err := confine.Open(src, ".", confine.Beneath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := confine.Bind(f, task, "0"); err != nil {
		t.Fatal(err)
	}
	sweepBinds(dir, testutil.Logger(t))
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Fatalf("left: %v %v", entries, err)
	}
}
