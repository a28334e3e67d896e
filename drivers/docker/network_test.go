package docker

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

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
			_, _ = api.ImageRemove(context.Background(), DefaultInfraImage, image.RemoveOptions{Force: true})
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
	info, err := d.api.ContainerInspect(context.Background(), d.lookup(web.ID).state.ContainerID)
	if err != nil || string(info.HostConfig.NetworkMode) != "container:"+spec.Labels[sandboxLabel] {
		t.Fatalf("network mode %q: %v", info.HostConfig.NetworkMode, err)
	}

	raw := rawexec.New(rawexec.Config{Plugin: rawexec.PluginConfig{Enabled: true}, Executor: executortest.Binary(), Logger: testutil.Logger(t)})
	t.Cleanup(raw.Shutdown)
	client := taskCfg(t, "client", nil)
	client.AllocID = web.AllocID
	client.Config = map[string]any{"command": prog.path, "args": []any{"get", fmt.Sprintf("http://127.0.0.1:%d/", port)}}
	client.NetworkIsolation = spec
	if _, err := raw.StartTask(client); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.DestroyTask(client.ID, true) })
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

	if err := d.DestroyTask(web.ID, true); err != nil {
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
