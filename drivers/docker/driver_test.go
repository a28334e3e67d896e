package docker

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/docker/dockertest"
	"github.com/roam-sh/roam/internal/logfile"
	"github.com/roam-sh/roam/testutil"
)

func TestFingerprint(t *testing.T) {
	d := newDriver(t, nil)
	fp := d.Fingerprint(context.Background())
	if fp.Health != drivers.HealthStateHealthy {
		t.Fatalf("health %s: %s", fp.Health, fp.HealthDescription)
	}
	for _, k := range []string{"driver.docker", "driver.docker.version", "driver.docker.os_type", "driver.docker.runtimes"} {
		if fp.Attributes[k] == "" {
			t.Errorf("attribute %s missing: %v", k, fp.Attributes)
		}
	}
	if fp.Attributes["driver.docker.os_type"] != "linux" || !strings.Contains(fp.Attributes["driver.docker.runtimes"], "runc") {
		t.Errorf("attributes %v", fp.Attributes)
	}

	off := newDriver(t, func(pc *PluginConfig) { pc.Endpoint = "unix://" + filepath.Join(t.TempDir(), "none.sock") })
	fp = off.Fingerprint(context.Background())
	if fp.Health != drivers.HealthStateUndetected || !strings.Contains(fp.HealthDescription, "Docker Engine unreachable") {
		t.Fatalf("unreachable engine: %s %q", fp.Health, fp.HealthDescription)
	}
}

func TestExitCodeAndLogs(t *testing.T) {
	img := progImage(t)
	d := newDriver(t, nil)
	cfg := taskCfg(t, "echo", map[string]any{"image": img, "args": []any{"echo", "to stdout", "to stderr"}})
	start(t, d, cfg)
	if res := waitExit(t, d, cfg.ID, 30*time.Second); !res.Successful() {
		t.Fatalf("exit %+v", res)
	}
	waitLog(t, cfg, logfile.Stdout, "to stdout\n")
	waitLog(t, cfg, logfile.Stderr, "to stderr\n")

	cfg = taskCfg(t, "fail", map[string]any{"image": img, "args": []any{"exit", "3"}})
	start(t, d, cfg)
	if res := waitExit(t, d, cfg.ID, 30*time.Second); res.ExitCode != 3 || res.OOMKilled {
		t.Fatalf("exit %+v, want code 3", res)
	}
	st, err := d.InspectTask(cfg.ID)
	if err != nil || st.State != drivers.TaskStateExited || st.DriverAttributes["container_id"] == "" {
		t.Fatalf("inspect: %+v %v", st, err)
	}
}

func TestStopSignalAndKillTimeout(t *testing.T) {
	img := progImage(t)
	d := newDriver(t, nil)

	cfg := taskCfg(t, "polite", map[string]any{"image": img, "args": []any{"sleep"}})
	start(t, d, cfg)
	waitLog(t, cfg, logfile.Stdout, "ready")
	if err := d.SignalTask(cfg.ID, "SIGHUP"); err != nil {
		t.Fatal(err)
	}
	waitLog(t, cfg, logfile.Stdout, "got hangup")
	if err := d.StopTask(context.Background(), cfg.ID, 10*time.Second, ""); err != nil {
		t.Fatal(err)
	}
	if res := waitExit(t, d, cfg.ID, 10*time.Second); !res.Successful() {
		t.Fatalf("SIGTERM exit %+v", res)
	}
	waitLog(t, cfg, logfile.Stdout, "got terminated")

	cfg = taskCfg(t, "stubborn", map[string]any{"image": img, "args": []any{"sleep", "ignore-term"}})
	start(t, d, cfg)
	waitLog(t, cfg, logfile.Stdout, "ready")
	began := time.Now()
	if err := d.StopTask(context.Background(), cfg.ID, time.Second, "SIGTERM"); err != nil {
		t.Fatal(err)
	}
	res := waitExit(t, d, cfg.ID, 20*time.Second)
	if took := time.Since(began); res.ExitCode != 137 || took < time.Second {
		t.Fatalf("after kill_timeout: exit %+v after %v, want 137 after at least 1s", res, took)
	}
	waitLog(t, cfg, logfile.Stdout, "got terminated")
}

func TestOOMKilled(t *testing.T) {
	img := progImage(t)
	d := newDriver(t, nil)
	cfg := taskCfg(t, "hog", map[string]any{"image": img, "args": []any{"alloc", "256"}})
	cfg.Resources.MemoryMB = 32
	start(t, d, cfg)
	res := waitExit(t, d, cfg.ID, 60*time.Second)
	// The kernel's SIGKILL: Docker reports 128+9.
	if !res.OOMKilled || res.ExitCode != 137 || res.Successful() {
		t.Fatalf("exit %+v, want OOM killed with exit code 137", res)
	}
	st, err := d.InspectTask(cfg.ID)
	if err != nil || st.ExitResult == nil || !st.ExitResult.OOMKilled || st.ExitResult.ExitCode != 137 {
		t.Fatalf("inspect after the OOM kill: %+v %v", st, err)
	}
}

// The task config keys Docker applies show in the container it created,
// and inside it.
func TestConfigKeysInContainer(t *testing.T) {
	img := progImage(t)
	api := dockertest.Require(t)
	d := newDriver(t, func(pc *PluginConfig) { pc.Volumes.Enabled = true })
	vol := dockertest.Unique("roam-test-vol")
	t.Cleanup(func() { _, _ = api.VolumeRemove(context.Background(), vol, client.VolumeRemoveOptions{Force: true}) })
	cfg := taskCfg(t, "keys", map[string]any{
		"image": img, "entrypoint": []any{"/prog", "sleep"}, "work_dir": "/work", "hostname": "keys-host",
		"init": true, "ulimit": map[string]any{"nofile": "1024:2048"},
		"cap_add": []any{"CHOWN"}, "cap_drop": []any{"ALL"}, "labels": map[string]any{"team": "a"},
		"volumes": []any{"local/vol:/vol:ro"},
		"mount": []any{
			map[string]any{"type": "bind", "source": "local/bind", "target": "/bind", "readonly": true},
			map[string]any{"type": "tmpfs", "target": "/scratch", "tmpfs_options": []any{map[string]any{"size": 1 << 20}}},
			map[string]any{"type": "volume", "source": vol, "target": "/data"},
		},
	})
	for _, dir := range []string{"vol", "bind"} {
		if err := os.MkdirAll(filepath.Join(cfg.TaskDir.LocalDir, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(cfg.TaskDir.LocalDir, "vol", "f"), []byte("in vol"), 0o644); err != nil {
		t.Fatal(err)
	}
	start(t, d, cfg)
	waitLog(t, cfg, logfile.Stdout, "ready")
	info, err := d.inspect(context.Background(), d.lookup(cfg.ID).state.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	checkConfigKeys(t, info, cfg.AllocID, d.cfg.BindDir, vol)

	inside := map[string]string{
		// PID 1's, as Docker set them: Go programs raise their own soft limit.
		"/proc/1/limits":    "Max open files            1024                 2048",
		"/proc/1/cmdline":   "docker-init", // init = true: Docker's init is PID 1
		"/etc/hostname":     "keys-host",
		"/proc/self/mounts": "/scratch tmpfs rw",
		// Bound from the allocation dir through the driver's private binds.
		"/vol/f": "in vol",
	}
	for path, want := range inside {
		if got := catInTask(t, d, cfg.ID, path); !strings.Contains(got, want) {
			t.Errorf("%s lacks %q:\n%s", path, want, got)
		}
	}
}

func checkConfigKeys(t *testing.T, info container.InspectResponse, allocID, bindDir, vol string) {
	t.Helper()
	c, h := info.Config, info.HostConfig
	if u := h.Ulimits; len(u) != 1 || u[0].Name != "nofile" || u[0].Soft != 1024 || u[0].Hard != 2048 {
		t.Errorf("ulimits %+v", u)
	}
	if h.Init == nil || !*h.Init {
		t.Errorf("init %v", h.Init)
	}
	if !slices.Equal(c.Entrypoint, []string{"/prog", "sleep"}) || c.WorkingDir != "/work" || c.Hostname != "keys-host" {
		t.Errorf("entrypoint %v, work dir %q, hostname %q", c.Entrypoint, c.WorkingDir, c.Hostname)
	}
	// Newer daemons record capabilities as CAP_*.
	if !slices.Contains([]string{"CHOWN", "CAP_CHOWN"}, strings.Join(h.CapAdd, ",")) || !slices.Equal(h.CapDrop, []string{"ALL"}) {
		t.Errorf("cap_add %v cap_drop %v", h.CapAdd, h.CapDrop)
	}
	if c.Labels["team"] != "a" || c.Labels[LabelAllocID] != allocID {
		t.Errorf("labels %v", c.Labels)
	}
	// Job paths reach Docker as the driver's private binds (confine.go).
	if !slices.ContainsFunc(h.Binds, func(b string) bool {
		return strings.HasPrefix(b, bindDir+"/") && strings.HasSuffix(b, ":/vol:ro")
	}) {
		t.Errorf("binds %v lack a private bind at /vol:ro", h.Binds)
	}
	for _, m := range h.Mounts {
		if m.Type == mount.TypeTmpfs && (m.TmpfsOptions == nil || m.TmpfsOptions.SizeBytes != 1<<20) {
			t.Errorf("tmpfs mount %+v, want 1 MiB", m)
		}
	}
	mounted := map[string]container.MountPoint{}
	for _, m := range info.Mounts {
		mounted[m.Destination] = m
	}
	want := map[string]container.MountPoint{
		"/vol":     {Type: mount.TypeBind},
		"/bind":    {Type: mount.TypeBind},
		"/scratch": {Type: mount.TypeTmpfs},
		"/data":    {Type: mount.TypeVolume, Name: vol},
	}
	for dst, w := range want {
		m, ok := mounted[dst]
		private := m.Type != mount.TypeBind || strings.HasPrefix(m.Source, bindDir+"/")
		if !ok || m.Type != w.Type || !private || m.Name != w.Name || (dst == "/vol" || dst == "/bind") == m.RW {
			t.Errorf("mount at %s: %+v, want %+v", dst, m, w)
		}
	}
}

func TestResourcesInInspect(t *testing.T) {
	img := progImage(t)
	api := newDriver(t, nil)
	cfg := taskCfg(t, "limits", map[string]any{"image": img, "args": []any{"sleep"}})
	cfg.Resources = drivers.Resources{CPUShares: 512, ReservedCores: []uint16{0}, MemoryMB: 64, MemoryMaxMB: 128}
	start(t, api, cfg)
	ct := api.lookup(cfg.ID)
	info, err := api.inspect(context.Background(), ct.state.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	r := info.HostConfig.Resources
	if r.CPUShares != 512 || r.CpusetCpus != "0" || r.Memory != 128<<20 || r.MemoryReservation != 64<<20 || r.MemorySwap != 128<<20 {
		t.Fatalf("resources %+v", r)
	}
	if info.Config.Labels[LabelAllocID] != cfg.AllocID || info.Config.Labels["com.hashicorp.nomad.task_name"] != "limits" {
		t.Fatalf("labels %v", info.Config.Labels)
	}
	if info.Name != "/limits-"+cfg.AllocID {
		t.Fatalf("name %s", info.Name)
	}
}

func TestStatsAndExec(t *testing.T) {
	img := progImage(t)
	d := newDriver(t, nil)
	cfg := taskCfg(t, "busy", map[string]any{"image": img, "args": []any{"sleep"}})
	start(t, d, cfg)
	waitLog(t, cfg, logfile.Stdout, "ready")

	u, err := d.TaskStats(context.Background(), cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.MemoryUsageBytes == 0 || u.Timestamp == 0 || len(u.MemoryMeasured) == 0 {
		t.Fatalf("stats %+v", u)
	}

	res, err := d.ExecTask(cfg.ID, []string{"/prog", "echo", "exec out", "exec err"}, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "exec out\n" || string(res.Stderr) != "exec err\n" || res.ExitResult.ExitCode != 0 {
		t.Fatalf("exec: %q %q %+v", res.Stdout, res.Stderr, res.ExitResult)
	}
	res, err = d.ExecTask(cfg.ID, []string{"/prog", "exit", "7"}, 20*time.Second)
	if err != nil || res.ExitResult.ExitCode != 7 {
		t.Fatalf("exec exit: %+v %v", res, err)
	}

	var out strings.Builder
	er, err := d.ExecTaskStreaming(context.Background(), cfg.ID, &drivers.ExecOptions{
		Command: []string{"/prog", "cat", "/alloc/data/in"}, Tty: true, Stdout: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if er.ExitCode != 1 || !strings.Contains(out.String(), "no such file") {
		t.Fatalf("tty exec of a failing command: %+v %q", er, out.String())
	}
}

func TestMounts(t *testing.T) {
	img := progImage(t)
	d := newDriver(t, nil)
	vol := t.TempDir()
	if err := os.WriteFile(filepath.Join(vol, "data"), []byte("from the host volume"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := taskCfg(t, "mounts", map[string]any{"image": img, "args": []any{"write", "/alloc/data/out", "hello alloc"}})
	cfg.Mounts = []*drivers.MountConfig{{TaskPath: "/vol", HostPath: vol, Readonly: true}}
	if err := os.WriteFile(filepath.Join(cfg.TaskDir.LocalDir, "in"), []byte("local file"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.TaskDir.SecretsDir, "s"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, d, cfg)
	waitLog(t, cfg, logfile.Stdout, "written")
	if b, err := os.ReadFile(filepath.Join(cfg.TaskDir.SharedAllocDir, "data", "out")); err != nil || string(b) != "hello alloc" {
		t.Fatalf("/alloc write seen from the host: %q %v", b, err)
	}
	for path, want := range map[string]string{"/local/in": "local file", "/secrets/s": "secret", "/vol/data": "from the host volume"} {
		res, err := d.ExecTask(cfg.ID, []string{"/prog", "cat", path}, 20*time.Second)
		if err != nil || string(res.Stdout) != want {
			t.Errorf("cat %s: %+v %v", path, res, err)
		}
	}
	res, err := d.ExecTask(cfg.ID, []string{"/prog", "write", "/vol/new", "x"}, 20*time.Second)
	if err != nil || res.ExitResult.ExitCode == 0 || !strings.Contains(string(res.Stderr), "read-only") {
		t.Fatalf("write to the read-only host volume: %+v %v", res, err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func httpGet(url string) (string, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestHostModePortsPublished(t *testing.T) {
	img := progImage(t)
	d := newDriver(t, nil)
	port := freePort(t)
	cfg := taskCfg(t, "web", map[string]any{"image": img, "args": []any{"serve", "8080"}, "ports": []any{"http"}})
	cfg.Ports = []drivers.PortMapping{{Label: "http", Value: port, To: 8080, HostIP: "127.0.0.1"}}
	start(t, d, cfg)
	testutil.WaitFor(t, 20*time.Second, func() error {
		body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err == nil && !strings.HasPrefix(body, "ok ") {
			err = fmt.Errorf("body %q", body)
		}
		return err
	})
}

// TestHostModePortOnlyOnItsHostAddress: a host-mode port that keeps its
// number inside the container (no "to", as most jobs write it) is
// published by Docker on the port's host address alone (127.0.0.1, the
// dev agent's), never on every address of the host; the program answers
// there.
func TestHostModePortOnlyOnItsHostAddress(t *testing.T) {
	img := progImage(t)
	d := newDriver(t, nil)
	port := freePort(t)
	cfg := taskCfg(t, "web", map[string]any{"image": img, "args": []any{"serve", strconv.Itoa(port)}, "ports": []any{"http"}})
	cfg.Ports = []drivers.PortMapping{{Label: "http", Value: port, HostIP: "127.0.0.1"}}
	start(t, d, cfg)
	info, err := d.inspect(context.Background(), d.lookup(cfg.ID).state.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	if info.HostConfig.NetworkMode.IsHost() {
		t.Fatalf("the container shares the host's namespace: its program listens on every host address")
	}
	var bound []string
	for cp, bs := range info.HostConfig.PortBindings {
		for _, b := range bs {
			bound = append(bound, fmt.Sprintf("%s:%s->%s", b.HostIP, b.HostPort, cp))
			if b.HostIP.String() != "127.0.0.1" || b.HostPort != strconv.Itoa(port) {
				t.Errorf("published as %s:%s, want 127.0.0.1:%d", b.HostIP, b.HostPort, port)
			}
		}
	}
	if len(bound) != 2 { // tcp and udp
		t.Fatalf("port bindings %v, want tcp and udp on 127.0.0.1:%d", bound, port)
	}
	testutil.WaitFor(t, 20*time.Second, func() error {
		body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err == nil && !strings.HasPrefix(body, "ok ") {
			err = fmt.Errorf("body %q", body)
		}
		return err
	})
}

func TestMissingImage(t *testing.T) {
	d := newDriver(t, nil)
	cfg := taskCfg(t, "absent", map[string]any{"image": "roam-test/absent:" + randomID()[:8]})
	_, err := d.StartTask(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "is not present locally and could not be pulled from its registry") {
		t.Fatalf("err %v", err)
	}
	if !drivers.IsRecoverable(err) {
		t.Errorf("a registry that does not answer may answer later: want a recoverable error, got %v", err)
	}
}

func TestPrivilegedRefusedUnlessAllowed(t *testing.T) {
	img := progImage(t)
	cfg := taskCfg(t, "priv", map[string]any{"image": img, "args": []any{"exit", "0"}, "privileged": true})
	_, err := newDriver(t, nil).StartTask(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "privileged containers are not allowed") {
		t.Fatalf("err %v", err)
	}
	// Allowed, the container asks Docker for privileges. (Not started here:
	// test sandboxes often cannot grant them.)
	pc := &PluginConfig{AllowPrivileged: true, AllowCaps: []string{"all"}}
	tc, err := decodeTaskConfig(cfg, pc)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := buildContainer(cfg, tc, pc)
	if err != nil || !spec.host.Privileged {
		t.Fatalf("privileged allowed: %+v %v", spec, err)
	}
}

// A container that exits on its own between the runner's last look and
// its stop (the daemon answers 409 "is not running") is stopped, not an
// error that leaves the container behind.
func TestStopContainerThatAlreadyExited(t *testing.T) {
	img := progImage(t)
	d := newDriver(t, nil)
	cfg := taskCfg(t, "quick", map[string]any{"image": img, "args": []any{"exit", "0"}})
	start(t, d, cfg)
	waitExit(t, d, cfg.ID, 30*time.Second)
	tk, err := d.get(cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Signal the stopped container directly: this is the race window in
	// which Stop has not yet seen the exit.
	if err := tk.signal(syscall.SIGTERM); err != nil {
		t.Fatalf("signal to an exited container: %v", err)
	}
	if err := d.DestroyTask(context.Background(), cfg.ID, true); err != nil {
		t.Fatalf("destroy: %v", err)
	}
}
