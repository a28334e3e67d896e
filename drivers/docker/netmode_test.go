package docker

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/docker/dockertest"
	"github.com/roam-sh/roam/internal/logfile"
	"github.com/roam-sh/roam/testutil"
)

// TestSecurityNetworkModeOtherAllocation: a job naming another allocation's
// pause container in network_mode would share its localhost (the security
// review's attacker.hcl); it is refused before any container is created.
// A container of the task's own allocation may still be joined, and the
// joiner then reaches its sibling on 127.0.0.1.
func TestSecurityNetworkModeOtherAllocation(t *testing.T) {
	img := progImage(t)
	d := newDriver(t, nil)
	port := freePort(t)

	victim := taskCfg(t, "redis", map[string]any{"image": img, "args": []any{"serve", fmt.Sprint(port)}})
	victim.NetworkIsolation = groupNamespace(t, d, victim.AllocID, "victim")
	start(t, d, victim)
	waitLog(t, victim, logfile.Stdout, "listening on")

	get := []any{"get", fmt.Sprintf("http://127.0.0.1:%d/", port)}
	spy := taskCfg(t, "spy", map[string]any{"image": img, "args": get, "network_mode": containerModePrefix + pauseNamePrefix + victim.AllocID})
	if _, err := d.StartTask(context.Background(), spy); err == nil || !strings.Contains(err.Error(), "is not part of this allocation") {
		if err == nil {
			_ = d.DestroyTask(context.Background(), spy.ID, true)
		}
		t.Fatalf("joining another allocation's pause container: err %v, want a refusal", err)
	}
	if ids := dockertest.Containers(t, dockertest.Require(t), LabelAllocID, spy.AllocID); len(ids) != 0 {
		t.Fatalf("refused task left containers %v", ids)
	}

	// Host-mode allocation: its second task joins the first's container.
	web := taskCfg(t, "web", map[string]any{"image": img, "args": []any{"serve", fmt.Sprint(port)}})
	start(t, d, web)
	waitLog(t, web, logfile.Stdout, "listening on")
	sib := taskCfg(t, "sib", map[string]any{"image": img, "args": get, "network_mode": containerModePrefix + containerName(web)})
	sib.AllocID, sib.ID = web.AllocID, web.AllocID+"/sib/0001"
	start(t, d, sib)
	if res := waitExit(t, d, sib.ID, 30*time.Second); !res.Successful() {
		t.Fatalf("sibling in the same allocation: %+v, stderr %q", res, readLogs(t, sib, logfile.Stderr))
	}
	// The collector copies the output after the exit: wait for it.
	waitLog(t, sib, logfile.Stdout, "ok ")
}

// TestSecurityNetworkModeNamedNetwork: a user-defined Docker network is
// shared with every container on it, so a job may join one only when the
// operator lists it.
func TestSecurityNetworkModeNamedNetwork(t *testing.T) {
	img := progImage(t)
	api := dockertest.Require(t)
	name := dockertest.Unique("roamtest-net")
	ctx := context.Background()
	if _, err := api.NetworkCreate(ctx, name, client.NetworkCreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = api.NetworkRemove(context.Background(), name, client.NetworkRemoveOptions{}) })

	cfg := func() *drivers.TaskConfig {
		return taskCfg(t, "app", map[string]any{"image": img, "args": []any{"sleep"}, "network_mode": name})
	}
	if _, err := newDriver(t, nil).StartTask(ctx, cfg()); err == nil || !strings.Contains(err.Error(), "is not allowed on this node") {
		t.Fatalf("named network with the default plugin config: err %v, want a refusal", err)
	}

	d := newDriver(t, func(pc *PluginConfig) { pc.AllowedModes.Network = []string{"roamtest-net*"} })
	listed := cfg()
	start(t, d, listed)
	testutil.WaitFor(t, 20*time.Second, func() error {
		info, err := d.inspect(ctx, d.lookup(listed.ID).state.ContainerID)
		if err != nil {
			return err
		}
		if _, on := info.NetworkSettings.Networks[name]; !on || !info.State.Running {
			return fmt.Errorf("container running=%v on networks %v, want %s", info.State.Running, info.NetworkSettings.Networks, name)
		}
		return nil
	})
}
