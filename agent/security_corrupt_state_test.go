package agent

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/internal/statefile"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// corruptStateConfig is a non-dev server+client agent on dataDir.
func corruptStateConfig(t *testing.T, dataDir string) *Config {
	cfg := DevConfig()
	cfg.DevMode, cfg.DataDir = false, dataDir
	cfg.Ports = Ports{}
	cfg.NodeName = "node-" + structs.GenerateUUID()[:8]
	cfg.Server.NumSchedulers = 1
	cfg.Client.Executor = executortest.Binary()
	cfg.Client.DisableBridge = true
	return cfg
}

// seedAgentDir runs a real agent on a data dir until it is ready, stops
// it, and returns the dir: what an operator's data_dir looks like.
func seedAgentDir(t *testing.T) string {
	dir := t.TempDir()
	testutil.CleanupMounts(t, dir)
	a, err := New(corruptStateConfig(t, dir), testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitReady(ctx); err != nil {
		a.Shutdown()
		t.Fatal(err)
	}
	if err := a.Shutdown(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// damages are what a disk, a crash or a careless operator does to a file.
var damages = []struct {
	name string
	do   func(path string) error
}{
	{"empty", func(p string) error { return os.Truncate(p, 0) }},
	{"truncated", func(p string) error {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		return os.Truncate(p, fi.Size()/2)
	}},
	{"zeroed", func(p string) error { return overwrite(p, func(b []byte) { clear(b) }) }},
	{"random", func(p string) error {
		r := rand.New(rand.NewPCG(11, 12))
		return overwrite(p, func(b []byte) {
			for i := range b {
				b[i] = byte(r.UintN(256))
			}
		})
	}},
	{"missing", os.Remove},
}

func overwrite(path string, fill func([]byte)) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	fill(raw)
	return os.WriteFile(path, raw, 0o600)
}

// TestSecurityCorruptStateAgentStart starts a real agent on a data dir
// whose raft.db or client.db was damaged: it must refuse, naming the file
// and -reset-state, without a panic; with ResetState it must start. A
// missing client.db is a new node (the servers still know the cluster), so
// only a missing raft.db is refused. Fails on the old code: an empty or
// missing raft.db founds a new cluster, a zeroed one fails with bbolt's
// bare "invalid database", and no error names a remedy.
func TestSecurityCorruptStateAgentStart(t *testing.T) {
	seed := seedAgentDir(t)
	files := map[string]string{
		"raft.db":   filepath.Join("server", "raft", "raft.db"),
		"client.db": filepath.Join("client", "client.db"),
	}
	for name, rel := range files {
		for _, d := range damages {
			if d.name == "missing" && name == "client.db" {
				continue
			}
			t.Run(name+"/"+d.name, func(t *testing.T) {
				dir := t.TempDir()
				testutil.CleanupMounts(t, dir)
				if err := os.CopyFS(dir, os.DirFS(seed)); err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(dir, rel)
				if err := d.do(path); err != nil {
					t.Fatal(err)
				}
				a, err := New(corruptStateConfig(t, dir), testutil.Logger(t))
				if err == nil {
					a.Shutdown()
					t.Fatalf("agent started on a %s %s", d.name, name)
				}
				if !errors.Is(err, statefile.ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "-reset-state") {
					t.Fatalf("error does not name %s and the remedy:\n%v", path, err)
				}
				cfg := corruptStateConfig(t, dir)
				cfg.ResetState = true
				a, err = New(cfg, testutil.Logger(t))
				if err != nil {
					t.Fatalf("-reset-state: %v", err)
				}
				defer a.Shutdown()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := a.WaitReady(ctx); err != nil {
					t.Fatalf("-reset-state: %v", err)
				}
			})
		}
	}
}

// TestSecurityCorruptStateResetFlag: -reset-state and ROAM_RESET_STATE
// reach the agent's config; the default is off. Fails without the flag.
func TestSecurityCorruptStateResetFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
		want bool
	}{
		{nil, "", false},
		{[]string{"--reset-state"}, "", true},
		{nil, "true", true},
	} {
		if c.env != "" {
			t.Setenv("ROAM_RESET_STATE", c.env)
		}
		var f agentFlags
		cmd := newCommand(&f)
		if err := cmd.Flags().Parse(append(c.args, "--data-dir", t.TempDir())); err != nil {
			t.Fatal(err)
		}
		cfg, err := resolveConfig(cmd.Flags(), &f)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.ResetState != c.want {
			t.Fatalf("args %v env %q: ResetState %v, want %v", c.args, c.env, cfg.ResetState, c.want)
		}
	}
}
