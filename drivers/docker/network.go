package docker

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/roam-sh/roam/drivers"
)

// pauseNamePrefix names an allocation's pause container: roam-init-<alloc>.
const pauseNamePrefix = "roam-init-"

// networkTimeout bounds creating a pause container (building its image
// included).
const networkTimeout = 2 * apiTimeout

// PauseContainerName is the name of an allocation's pause container.
func PauseContainerName(allocID string) string { return pauseNamePrefix + allocID }

// CreateNetwork gives the allocation a network namespace held by a pause
// container (network mode none: the client's network hook configures the
// namespace afterwards, through the path returned). The container restarts
// with the daemon (unless-stopped). A running pause container of the
// allocation is reused (created = false); a stopped one is started again,
// with a new, unconfigured namespace (created = true).
func (d *Driver) CreateNetwork(allocID string, req *drivers.NetworkCreateRequest) (*drivers.NetworkIsolationSpec, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), networkTimeout)
	defer cancel()
	name := PauseContainerName(allocID)
	info, err := d.inspect(ctx, name)
	switch {
	case err == nil && info.State.Running:
		return pauseSpec(info), false, nil
	case err == nil:
		if _, err := d.api.ContainerStart(ctx, info.ID, client.ContainerStartOptions{}); err != nil {
			return nil, false, fmt.Errorf("start pause container %s: %w", name, err)
		}
	case cerrdefs.IsNotFound(err):
		if err := d.createPause(ctx, allocID, req); err != nil {
			return nil, false, err
		}
	default:
		return nil, false, fmt.Errorf("inspect pause container %s: %w", name, err)
	}
	if info, err = d.inspect(ctx, name); err != nil {
		return nil, false, fmt.Errorf("inspect pause container %s: %w", name, err)
	}
	return pauseSpec(info), true, nil
}

func (d *Driver) createPause(ctx context.Context, allocID string, req *drivers.NetworkCreateRequest) error {
	if err := d.ensureInfraImage(ctx); err != nil {
		return err
	}
	c := &container.Config{
		Image: d.cfg.Plugin.InfraImage, Labels: map[string]string{
			LabelAllocID: allocID, nomadLabelPrefix + "alloc_id": allocID,
		},
	}
	if req != nil {
		c.Hostname = req.Hostname
	}
	h := &container.HostConfig{
		NetworkMode:   "none",
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
		LogConfig:     container.LogConfig{Type: "none"},
	}
	name := PauseContainerName(allocID)
	resp, err := d.api.ContainerCreate(ctx, client.ContainerCreateOptions{Config: c, HostConfig: h, Name: name})
	if err != nil {
		return fmt.Errorf("create pause container %s: %w", name, err)
	}
	if _, err := d.api.ContainerStart(ctx, resp.ID, client.ContainerStartOptions{}); err != nil {
		d.removeContainer(resp.ID)
		return fmt.Errorf("start pause container %s: %w", name, err)
	}
	d.logger.Info("pause container started", "alloc_id", allocID, "container_id", resp.ID)
	return nil
}

func pauseSpec(info container.InspectResponse) *drivers.NetworkIsolationSpec {
	spec := &drivers.NetworkIsolationSpec{
		Mode:   drivers.NetIsolationModeGroup,
		Labels: map[string]string{sandboxLabel: info.ID},
	}
	if info.NetworkSettings != nil {
		spec.Path = info.NetworkSettings.SandboxKey
	}
	if info.Config != nil && info.Config.Hostname != "" {
		spec.Labels[hostnameLabel] = info.Config.Hostname
	}
	return spec
}

// DestroyNetwork removes the allocation's pause container; one that is
// already gone is no error.
func (d *Driver) DestroyNetwork(allocID string, spec *drivers.NetworkIsolationSpec) error {
	id := PauseContainerName(allocID)
	if spec != nil && spec.Labels[sandboxLabel] != "" {
		id = spec.Labels[sandboxLabel]
	}
	ctx, cancel := d.apiCtx()
	defer cancel()
	_, err := d.api.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove pause container of alloc %s: %w", allocID, err)
	}
	return nil
}
