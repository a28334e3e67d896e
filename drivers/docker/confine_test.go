package docker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/internal/confine"
	"github.com/roam-sh/roam/internal/logfile"
)

// The example, with real containers: one task plants a symlink to a
// host directory in the shared alloc/data; another task of the allocation
// names it in a docker volumes entry. The host directory must not be
// mounted. (Before confine, Docker followed the link and mounted it.)
func TestSecurityHostPathsSymlinkInAllocData(t *testing.T) {
	requireRoot(t)
	img := progImage(t)
	d := newDriver(t, nil)
	hostDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "secret"), []byte("host-only"), 0o644); err != nil {
		t.Fatal(err)
	}
	planter := taskCfg(t, "planter", map[string]any{
		"image": img, "entrypoint": []any{"/prog", "symlink", hostDir, "/alloc/data/link"},
	})
	start(t, d, planter)
	waitLog(t, planter, logfile.Stdout, "planted")
	if got, err := os.Readlink(filepath.Join(planter.TaskDir.SharedAllocDir, "data", "link")); err != nil || got != hostDir {
		t.Fatalf("planted link: %q %v", got, err)
	}

	victim := siblingTask(t, planter, "victim", map[string]any{
		"image": img, "entrypoint": []any{"/prog", "cat", "/stolen/secret"},
		"volumes": []any{"../alloc/data/link:/stolen"},
	})
	h, err := d.StartTask(context.Background(), victim)
	if err == nil {
		t.Cleanup(func() { _ = d.DestroyTask(context.Background(), victim.ID, true) })
		waitExit(t, d, h.Config.ID, 20*time.Second)
		t.Fatalf("the task started with the planted link mounted; it read %q", readLogs(t, victim, logfile.Stdout))
	}
	if !errors.Is(err, confine.ErrEscapes) {
		t.Fatalf("start: %v, want %v", err, confine.ErrEscapes)
	}
}

// A bind mount block's relative source had no check at all: "../" climbed
// out of the allocation dir to any host path.
func TestSecurityHostPathsMountDotDot(t *testing.T) {
	cfg := pureTask(map[string]any{"image": "x", "mount": []any{map[string]any{
		"type": "bind", "source": "../../../../../../../../etc", "target": "/etc-host",
	}}})
	pc, _ := ParsePluginConfig(nil)
	tc, err := decodeTaskConfig(cfg, &pc)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := buildContainer(cfg, tc, &pc)
	if err == nil {
		t.Fatalf("bind source %q accepted", spec.host.Mounts[0].Source)
	}
	if !strings.Contains(err.Error(), "leaves the allocation dir") {
		t.Fatalf("err %v", err)
	}
}

// specWith is the container spec of cfg with one job bind of src, as a
// volumes entry or a mount block.
func specWith(t *testing.T, cfg *drivers.TaskConfig, key, src string) *containerSpec {
	t.Helper()
	c := map[string]any{"image": "x"}
	if key == "volumes" {
		c["volumes"] = []any{src + ":/v"}
	} else {
		c["mount"] = []any{map[string]any{"type": "bind", "source": src, "target": "/v"}}
	}
	cfg = cfg.Copy()
	cfg.Config = c
	pc, _ := ParsePluginConfig(nil)
	tc, err := decodeTaskConfig(cfg, &pc)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := buildContainer(cfg, tc, &pc)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// pureTaskIn is pureTask with its directories on disk.
func pureTaskIn(t *testing.T) *drivers.TaskConfig {
	root := t.TempDir()
	cfg := pureTask(map[string]any{"image": "x"})
	cfg.AllocDir = root
	cfg.TaskDir = drivers.TaskDir{
		Dir: filepath.Join(root, "web"), SharedAllocDir: filepath.Join(root, "alloc"),
		LocalDir: filepath.Join(root, "web", "local"), SecretsDir: filepath.Join(root, "web", "secrets"),
		PrivateDir: filepath.Join(root, "web", "private"), LogDir: filepath.Join(root, "alloc", "logs"),
	}
	mustDo(t, os.MkdirAll(cfg.TaskDir.LocalDir, 0o755))
	return cfg
}

// siblingTask is another task of first's allocation.
func siblingTask(t *testing.T, first *drivers.TaskConfig, name string, config map[string]any) *drivers.TaskConfig {
	t.Helper()
	cfg := first.Copy()
	root := first.AllocDir
	cfg.ID, cfg.Name, cfg.Config = first.AllocID+"/"+name+"/0001", name, config
	cfg.TaskDir.Dir = filepath.Join(root, name)
	cfg.TaskDir.LocalDir = filepath.Join(root, name, "local")
	cfg.TaskDir.SecretsDir = filepath.Join(root, name, "secrets")
	cfg.TaskDir.PrivateDir = filepath.Join(root, name, "private")
	cfg.TaskDir.TmpDir = filepath.Join(root, name, "tmp")
	cfg.StdoutPath = filepath.Join(cfg.TaskDir.LogDir, name+".stdout.0")
	cfg.StderrPath = filepath.Join(cfg.TaskDir.LogDir, name+".stderr.0")
	for _, dir := range []string{cfg.TaskDir.LocalDir, cfg.TaskDir.SecretsDir, cfg.TaskDir.PrivateDir, cfg.TaskDir.TmpDir} {
		mustDo(t, os.MkdirAll(dir, 0o777))
	}
	return cfg
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root")
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
