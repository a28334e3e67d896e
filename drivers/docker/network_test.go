package docker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/docker/dockertest"
	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/drivers/rawexec"
	"github.com/roam-sh/roam/internal/logfile"
	"github.com/roam-sh/roam/testutil"
)

// A group namespace held by a pause container: docker tasks join it with
// network_mode container:<pause>, a raw_exec task joins it by path, and the
// two talk over localhost; nothing of it is reachable from the host's
// loopback; destroying it removes the pause container.
func TestGroupNamespaceSharedWithRawExec(t *testing.T) {
	img := progImage(t)
	api := dockertest.Require(t)
	if !dockertest.ImageExists(t, api, DefaultInfraImage) {
		t.Cleanup(func() {
			_, _ = api.ImageRemove(context.Background(), DefaultInfraImage, client.ImageRemoveOptions{Force: true})
		})
	}
	d := newDriver(t, nil)
	port := freePort(t)
	web := taskCfg(t, "web", map[string]any{"image": img, "args": []any{"serve", fmt.Sprint(port)}})

	spec, created, err := d.CreateNetwork(web.AllocID, &drivers.NetworkCreateRequest{Hostname: "grouphost"})
	if err != nil || !created {
		t.Fatalf("create network: %v (created %v)", err, created)
	}
	t.Cleanup(func() { _ = d.DestroyNetwork(web.AllocID, spec) })
	if _, err := os.Stat(spec.Path); err != nil || spec.Mode != drivers.NetIsolationModeGroup {
		t.Fatalf("namespace %+v: %v", spec, err)
	}
	again, created, err := d.CreateNetwork(web.AllocID, &drivers.NetworkCreateRequest{Hostname: "grouphost"})
	if err != nil || created || again.Labels[sandboxLabel] != spec.Labels[sandboxLabel] || again.Path != spec.Path {
		t.Fatalf("create again: %+v created=%v %v, want the same namespace", again, created, err)
	}
	if ids := dockertest.Containers(t, api, LabelAllocID, web.AllocID); len(ids) != 1 {
		t.Fatalf("pause containers: %v", ids)
	}

	web.NetworkIsolation = spec
	start(t, d, web)
	waitLog(t, web, logfile.Stdout, "listening on")
	info, err := d.inspect(context.Background(), d.lookup(web.ID).state.ContainerID)
	if err != nil || string(info.HostConfig.NetworkMode) != "container:"+spec.Labels[sandboxLabel] {
		t.Fatalf("network mode %q: %v", info.HostConfig.NetworkMode, err)
	}

	raw := rawexec.New(rawexec.Config{Plugin: rawexec.PluginConfig{Enabled: true}, Executor: executortest.Binary(), Logger: testutil.Logger(t)})
	t.Cleanup(raw.Shutdown)
	client := taskCfg(t, "client", nil)
	client.AllocID = web.AllocID
	client.Config = map[string]any{"command": prog.path, "args": []any{"get", fmt.Sprintf("http://127.0.0.1:%d/", port)}}
	client.NetworkIsolation = spec
	if _, err := raw.StartTask(context.Background(), client); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.DestroyTask(context.Background(), client.ID, true) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch, err := raw.WaitTask(ctx, client.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res := <-ch; res == nil || !res.Successful() {
		t.Fatalf("raw_exec task in the group namespace: %+v, stderr %q", res, readLogs(t, client, logfile.Stderr))
	}
	if out := readLogs(t, client, logfile.Stdout); !strings.HasPrefix(out, "ok ") {
		t.Fatalf("raw_exec task got %q", out)
	}
	if _, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", port)); err == nil {
		t.Fatal("the group's server answers on the host's loopback: the namespace is not isolated")
	}

	if err := d.DestroyTask(context.Background(), web.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := d.DestroyNetwork(web.AllocID, spec); err != nil {
		t.Fatal(err)
	}
	if ids := dockertest.Containers(t, api, LabelAllocID, web.AllocID); len(ids) != 0 {
		t.Fatalf("containers left after DestroyNetwork: %v", ids)
	}
	if err := d.DestroyNetwork(web.AllocID, spec); err != nil {
		t.Fatalf("destroying a destroyed network: %v", err)
	}
}

// groupNamespace gives the allocation a pause container's namespace, as
// the client's network hook does, removed at the end of the test.
func groupNamespace(t *testing.T, d *Driver, allocID, hostname string) *drivers.NetworkIsolationSpec {
	t.Helper()
	api := dockertest.Require(t)
	if !dockertest.ImageExists(t, api, DefaultInfraImage) {
		t.Cleanup(func() {
			_, _ = api.ImageRemove(context.Background(), DefaultInfraImage, client.ImageRemoveOptions{Force: true})
		})
	}
	spec, _, err := d.CreateNetwork(allocID, &drivers.NetworkCreateRequest{Hostname: hostname})
	if err != nil {
		t.Fatalf("create network: %v", err)
	}
	t.Cleanup(func() { _ = d.DestroyNetwork(allocID, spec) })
	return spec
}

// catInTask is a file of the task's container, read by exec.
func catInTask(t *testing.T, d *Driver, taskID, path string) string {
	t.Helper()
	res, err := d.ExecTask(taskID, []string{"/prog", "cat", path}, 20*time.Second)
	if err != nil || res.ExitResult.ExitCode != 0 {
		t.Fatalf("cat %s: %+v %v", path, res, err)
	}
	return string(res.Stdout)
}

// In a group's namespace Docker refuses dns_servers and extra_hosts; the
// task gets them in its own resolv.conf and hosts, built from the group's
// files (those the network hook hands over, or, without them, the pause
// container's).
func TestGroupTaskDNSAndExtraHosts(t *testing.T) {
	img := progImage(t)
	d := newDriver(t, nil)
	config := map[string]any{
		"image": img, "args": []any{"sleep"},
		"extra_hosts": []any{"db.internal:10.9.8.7"}, "dns_servers": []any{"192.0.2.53"},
	}
	cfg := taskCfg(t, "dns", config)
	cfg.NetworkIsolation = groupNamespace(t, d, cfg.AllocID, "grouphost")
	cfg.Mounts = groupEtcMounts(t, cfg.AllocDir,
		"nameserver 10.0.0.2\nsearch svc.example\noptions ndots:2\n",
		"127.0.0.1\tlocalhost\n10.1.2.3\tgrouphost\n")
	start(t, d, cfg)
	waitLog(t, cfg, logfile.Stdout, "ready")

	hosts := catInTask(t, d, cfg.ID, "/etc/hosts")
	for _, want := range []string{"10.9.8.7\tdb.internal\n", "10.1.2.3\tgrouphost\n", "127.0.0.1\tlocalhost\n"} {
		if !strings.Contains(hosts, want) {
			t.Errorf("/etc/hosts lacks %q:\n%s", want, hosts)
		}
	}
	resolv := catInTask(t, d, cfg.ID, "/etc/resolv.conf")
	for _, want := range []string{"nameserver 192.0.2.53\n", "search svc.example\n", "options ndots:2\n"} {
		if !strings.Contains(resolv, want) {
			t.Errorf("/etc/resolv.conf lacks %q:\n%s", want, resolv)
		}
	}
	if strings.Contains(resolv, "10.0.0.2") {
		t.Errorf("/etc/resolv.conf keeps the group's nameserver:\n%s", resolv)
	}
	if b, err := os.ReadFile(cfg.Mounts[1].HostPath); err != nil || strings.Contains(string(b), "db.internal") {
		t.Errorf("the group's hosts file was changed: %q %v", b, err)
	}

	// Without the network hook's files: the pause container's.
	other := taskCfg(t, "dns2", config)
	other.AllocID, other.ID = cfg.AllocID, cfg.AllocID+"/dns2/0001"
	other.NetworkIsolation = cfg.NetworkIsolation
	start(t, d, other)
	waitLog(t, other, logfile.Stdout, "ready")
	if hosts := catInTask(t, d, other.ID, "/etc/hosts"); !strings.Contains(hosts, "localhost") || !strings.Contains(hosts, "10.9.8.7\tdb.internal\n") {
		t.Errorf("/etc/hosts from the pause container's:\n%s", hosts)
	}
	if resolv := catInTask(t, d, other.ID, "/etc/resolv.conf"); !strings.HasPrefix(strings.SplitN(resolv, "\n", 2)[1], "nameserver 192.0.2.53\n") {
		t.Errorf("/etc/resolv.conf from the pause container's:\n%s", resolv)
	}
}

// groupEtcMounts writes a group's resolv.conf and hosts where the client's
// network hook does and returns the mounts it hands to tasks.
func groupEtcMounts(t *testing.T, allocDir, resolv, hosts string) []*drivers.MountConfig {
	t.Helper()
	dir := filepath.Join(allocDir, "network")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var out []*drivers.MountConfig
	for _, f := range []struct{ name, content string }{{"resolv.conf", resolv}, {"hosts", hosts}} {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte(f.content), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, &drivers.MountConfig{HostPath: p, TaskPath: "/etc/" + f.name, Readonly: true})
	}
	return out
}
