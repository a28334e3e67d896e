package client

import (
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/roam-sh/roam/drivers"
)

// TestBuiltinDriversIncludeExecAndJava: the client's explicit driver list
// builds exec, java and docker with their plugin blocks, and rejects bad ones.
func TestBuiltinDriversIncludeExecAndJava(t *testing.T) {
	cfg := &Config{
		Logger:    slog.New(slog.DiscardHandler),
		ChrootEnv: map[string]string{"/usr": "/usr"},
		Plugins:   map[string]map[string]any{"exec": {"allow_caps": []any{"all"}}},
	}
	reg, err := buildDrivers(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range reg.All() {
		names = append(names, d.Name())
	}
	if !slices.Equal(names, []string{"raw_exec", "exec", "java", "connect_proxy", "docker"}) {
		t.Fatalf("drivers %v", names)
	}
	for _, n := range []string{"exec", "java"} {
		d, _ := reg.Get(n)
		if c := d.Capabilities(); c.FSIsolation != drivers.FSIsolationChroot || !c.MountConfigs {
			t.Errorf("%s capabilities %+v", n, c)
		}
	}
	if d, _ := reg.Get("docker"); d.Capabilities().FSIsolation != drivers.FSIsolationImage || !d.Capabilities().MustInitiateNetwork {
		t.Errorf("docker capabilities %+v", d.Capabilities())
	}
	cfg.Plugins["docker"] = map[string]any{"allow_privileged": "yes"}
	if _, err := buildDrivers(cfg); err == nil || !strings.Contains(err.Error(), "driver docker: docker plugin config: allow_privileged: want bool") {
		t.Fatalf("bad docker plugin config: %v", err)
	}
	delete(cfg.Plugins, "docker")
	cfg.Plugins["java"] = map[string]any{"default_pid_mode": "shared"}
	if _, err := buildDrivers(cfg); err == nil || !strings.Contains(err.Error(), "driver java: java plugin config: default_pid_mode") {
		t.Fatalf("bad java plugin config: %v", err)
	}
}
