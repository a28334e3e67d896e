package docker

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-sh/roam/testutil"
)

// Enabling volumes lets a job name absolute host paths; it must not let a
// relative one climb out of the allocation into the host or into another
// allocation's directories.
func TestSecurityHostPathsRelativeWithVolumesEnabled(t *testing.T) {
	pc, _ := ParsePluginConfig(nil)
	pc.Volumes.Enabled = true
	for _, src := range []string{
		"../../../../../../../../etc",
		"../../other-alloc/web/secrets",
		"../..",
	} {
		for _, key := range []string{"volumes", "mount"} {
			c := map[string]any{"image": "x"}
			if key == "volumes" {
				c["volumes"] = []any{src + ":/v"}
			} else {
				c["mount"] = []any{map[string]any{"type": "bind", "source": src, "target": "/v"}}
			}
			cfg := pureTask(c)
			tc, err := decodeTaskConfig(cfg, &pc)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := buildContainer(cfg, tc, &pc)
			if err == nil {
				t.Fatalf("%s %q accepted as %v %v", key, src, spec.host.Binds, spec.host.Mounts)
			}
			if !strings.Contains(err.Error(), "leaves the allocation dir") {
				t.Fatalf("%s %q: %v", key, src, err)
			}
		}
	}
}

// Another task's secrets/ (its workload identity, rendered secrets) is
// never bound, named directly or through a link; the task's own is.
func TestSecurityHostPathsOtherTasksSecrets(t *testing.T) {
	requireRoot(t)
	cfg := pureTaskIn(t)
	d := &Driver{cfg: Config{BindDir: t.TempDir()}, logger: testutil.Logger(t)}
	other := filepath.Join(cfg.AllocDir, "other", "secrets")
	mustDo(t, os.MkdirAll(other, 0o755))
	mustDo(t, os.MkdirAll(cfg.TaskDir.SecretsDir, 0o755))
	mustDo(t, os.Symlink("../../other/secrets", filepath.Join(cfg.TaskDir.LocalDir, "sec")))
	for _, src := range []string{"../other/secrets", "local/sec", "../alloc/../other/secrets/"} {
		for _, key := range []string{"volumes", "mount"} {
			if b, err := d.confineBinds(cfg, specWith(t, cfg, key, src)); err == nil {
				b.release(d.logger)
				t.Fatalf("%s %s: another task's secrets bound", key, src)
			} else if !errors.Is(err, errSecrets) {
				t.Fatalf("%s %s: %v, want %v", key, src, err, errSecrets)
			}
		}
	}
	b, err := d.confineBinds(cfg, specWith(t, cfg, "volumes", "secrets"))
	if err != nil {
		t.Fatalf("the task's own secrets: %v", err)
	}
	b.release(d.logger)
}
