package client

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/docker"
	"github.com/roam-sh/roam/drivers/exec"
	"github.com/roam-sh/roam/drivers/java"
	"github.com/roam-sh/roam/drivers/meshproxy"
	"github.com/roam-sh/roam/drivers/rawexec"
	"github.com/roam-sh/roam/structs"
)

// driverFactory builds one built-in driver from the client's configuration.
type driverFactory struct {
	name  string
	build func(cfg *Config, plugin map[string]any, logger *slog.Logger) (drivers.Driver, error)
}

// builtinDrivers lists the drivers a client runs, in fingerprint order.
func builtinDrivers() []driverFactory {
	return []driverFactory{
		// raw_exec: no isolation, so it is disabled unless its plugin block
		// (or the legacy driver.raw_exec.enable option) enables it.
		{rawexec.Name, newRawExec},
		// exec and java isolate tasks (namespaces, a root from chroot_env,
		// cgroups); they fingerprint as undetected where that cannot work
		// (not root, no cgroups), or where java is missing.
		{exec.Name, newExec},
		{java.Name, newJava},
		// connect_proxy: the mesh's sidecar proxy, the roam binary itself,
		// for the proxy tasks the servers inject; always on (root only).
		{meshproxy.Name, newMeshProxy},
		// docker: containers of the local Docker Engine; undetected while
		// no engine answers. Last, as it is the only driver that reaches
		// another daemon when fingerprinted.
		{docker.Name, newDocker},
	}
}

func newDocker(cfg *Config, plugin map[string]any, logger *slog.Logger) (drivers.Driver, error) {
	pc, err := docker.ParsePluginConfig(plugin)
	if err != nil {
		return nil, err
	}
	// Job paths are bound under the client's state dir, which no task can
	// reach, before Docker sees them.
	return docker.New(docker.Config{
		Plugin: pc, Collector: cfg.DockerCollector, BindDir: filepath.Join(cfg.StateDir, "docker-binds"), Logger: logger,
	})
}

func newMeshProxy(cfg *Config, _ map[string]any, logger *slog.Logger) (drivers.Driver, error) {
	raw := rawexec.New(rawexec.Config{Plugin: rawexec.PluginConfig{Enabled: true}, Executor: cfg.Executor, Logger: logger})
	return meshproxy.New(cfg.Executor, raw), nil
}

func newExec(cfg *Config, plugin map[string]any, logger *slog.Logger) (drivers.Driver, error) {
	ec, err := isolatingConfig(exec.Name, cfg, plugin, logger)
	if err != nil {
		return nil, err
	}
	return exec.New(ec), nil
}

func newJava(cfg *Config, plugin map[string]any, logger *slog.Logger) (drivers.Driver, error) {
	ec, err := isolatingConfig(java.Name, cfg, plugin, logger)
	if err != nil {
		return nil, err
	}
	return java.New(ec), nil
}

// isolatingConfig is the configuration exec and java share.
func isolatingConfig(name string, cfg *Config, plugin map[string]any, logger *slog.Logger) (exec.Config, error) {
	pc, err := exec.ParsePluginConfig(name, plugin)
	if err != nil {
		return exec.Config{}, err
	}
	return exec.Config{
		Plugin: pc, ChrootEnv: cfg.ChrootEnv, CgroupParent: cfg.CgroupParent, Executor: cfg.Executor, Logger: logger,
	}, nil
}

func newRawExec(cfg *Config, plugin map[string]any, logger *slog.Logger) (drivers.Driver, error) {
	pc, err := rawexec.ParsePluginConfig(plugin)
	if err != nil {
		return nil, err
	}
	switch cfg.Options["driver.raw_exec.enable"] {
	case "1", "true":
		pc.Enabled = true
	}
	return rawexec.New(rawexec.Config{Plugin: pc, Executor: cfg.Executor, Logger: logger}), nil
}

// buildDrivers returns cfg.Drivers if set, else the built-in drivers.
func buildDrivers(cfg *Config) (*drivers.Registry, error) {
	if len(cfg.Drivers) > 0 {
		return drivers.NewRegistry(cfg.Drivers...)
	}
	var ds []drivers.Driver
	for _, f := range builtinDrivers() {
		d, err := f.build(cfg, cfg.Plugins[f.name], cfg.Logger.With("component", "driver"))
		if err != nil {
			return nil, fmt.Errorf("driver %s: %w", f.name, err)
		}
		ds = append(ds, d)
	}
	return drivers.NewRegistry(ds...)
}

// fingerprintDrivers asks every driver for its health and attributes.
func fingerprintDrivers(ctx context.Context, reg *drivers.Registry) (map[string]*structs.DriverInfo, map[string]string) {
	infos := map[string]*structs.DriverInfo{}
	attrs := map[string]string{}
	for _, d := range reg.All() {
		r := fingerprintDriver(ctx, d)
		infos[r.name] = r.info
		maps.Copy(attrs, r.attrs)
	}
	return infos, attrs
}

// driverResult is one driver's fingerprint: its information and the node
// attributes it adds (none when undetected).
type driverResult struct {
	name  string
	info  *structs.DriverInfo
	attrs map[string]string
}

func fingerprintDriver(ctx context.Context, d drivers.Driver) driverResult {
	fp := d.Fingerprint(ctx)
	detected := fp.Health != drivers.HealthStateUndetected
	r := driverResult{name: d.Name(), attrs: map[string]string{}, info: &structs.DriverInfo{
		Attributes: maps.Clone(fp.Attributes), Detected: detected,
		Healthy: fp.Health == drivers.HealthStateHealthy, HealthDescription: fp.HealthDescription,
		UpdateTime: time.Now().UTC(),
	}}
	if detected {
		maps.Copy(r.attrs, fp.Attributes)
		r.attrs[structs.AttrDriver(d.Name())] = "1"
	}
	return r
}

// firstFingerprintWait is how long a starting client waits for the first
// fingerprints of its slow drivers (slowFingerprinter). One that takes
// longer does not hold the node back: it registers without it, and again
// when that driver's fingerprint arrives. Other drivers' fingerprints are
// checks inside this process, always waited for.
const firstFingerprintWait = 20 * time.Millisecond

// slowFingerprinter is the optional power of a driver whose fingerprint runs
// a program or asks a daemon (java, docker).
type slowFingerprinter interface{ SlowFingerprint() bool }

func isSlow(d drivers.Driver) bool {
	s, ok := d.(slowFingerprinter)
	return ok && s.SlowFingerprint()
}

// pendingDriver is how a driver whose first fingerprint is still running
// shows on the node: not detected, so that nothing is placed on it yet.
func pendingDriver() *structs.DriverInfo {
	return &structs.DriverInfo{HealthDescription: "fingerprinting", UpdateTime: time.Now().UTC()}
}

// fingerprintDriversAsync fingerprints every driver at once. It returns
// those done within wait, the others as pending, and a channel on which
// each pending driver's result arrives when it is done (closed after the
// last).
func fingerprintDriversAsync(reg *drivers.Registry, wait time.Duration) (map[string]*structs.DriverInfo, map[string]string, <-chan driverResult) {
	all := reg.All()
	results := make(chan driverResult, len(all))
	for _, d := range all {
		go func() { results <- fingerprintDriver(context.Background(), d) }()
	}
	infos, attrs := map[string]*structs.DriverInfo{}, map[string]string{}
	slow, fastLeft := map[string]bool{}, 0
	for _, d := range all {
		slow[d.Name()] = isSlow(d)
		if !slow[d.Name()] {
			fastLeft++
		}
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	got := 0
collect:
	for got < len(all) {
		var timeout <-chan time.Time
		if fastLeft == 0 {
			timeout = deadline.C // the fast ones are in: wait for the slow ones no longer
		}
		select {
		case r := <-results:
			infos[r.name] = r.info
			maps.Copy(attrs, r.attrs)
			got++
			if !slow[r.name] {
				fastLeft--
			}
		case <-timeout:
			break collect
		}
	}
	late := make(chan driverResult, len(all)-got)
	for _, d := range all {
		if _, ok := infos[d.Name()]; !ok {
			infos[d.Name()] = pendingDriver()
		}
	}
	go func() {
		defer close(late)
		for range len(all) - got {
			late <- <-results
		}
	}()
	return infos, attrs, late
}

// applyDriverResult puts one driver's fingerprint on the node, replacing
// the attributes it had; it reports whether anything the servers care
// about changed.
func applyDriverResult(n *structs.Node, r driverResult) bool {
	old := n.Drivers[r.name]
	if old != nil && !driversChanged(map[string]*structs.DriverInfo{r.name: old}, map[string]*structs.DriverInfo{r.name: r.info}) {
		return false
	}
	delete(n.Attributes, structs.AttrDriver(r.name))
	if old != nil {
		for k := range old.Attributes {
			delete(n.Attributes, k)
		}
	}
	if n.Drivers == nil {
		n.Drivers = map[string]*structs.DriverInfo{}
	}
	n.Drivers[r.name] = r.info
	maps.Copy(n.Attributes, r.attrs)
	n.ComputedClass = n.ComputeClass()
	return true
}

// driversChanged reports whether a new driver fingerprint differs from the
// node's in anything the servers care about (not the update time).
func driversChanged(old, cur map[string]*structs.DriverInfo) bool {
	if len(old) != len(cur) {
		return true
	}
	for name, c := range cur {
		o := old[name]
		if o == nil || o.Detected != c.Detected || o.Healthy != c.Healthy ||
			o.HealthDescription != c.HealthDescription || !maps.Equal(o.Attributes, c.Attributes) {
			return true
		}
	}
	return false
}
