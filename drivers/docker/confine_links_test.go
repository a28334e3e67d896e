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
