package docker

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/docker/collector"
	"github.com/roam-sh/roam/drivers/executor"
)

// taskState is the driver's part of a task handle: enough to find the
// container and its log collector again from another client process.
type taskState struct {
	ContainerID   string
	ContainerName string
	Image         string
	// StartedAt is the container's start as Docker recorded it.
	StartedAt time.Time
	// CollectorDir holds the log collector's files, the record of its
	// process among them; "" when the task's logs are disabled.
	CollectorDir string
}

// StartTask makes sure the image is there, creates and starts the
// container and its log collector. ctx bounds the image pull.
func (d *Driver) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start task %s: %w", cfg.ID, err)
	}
	if d.lookup(cfg.ID) != nil {
		return nil, fmt.Errorf("task %s already started", cfg.ID)
	}
	tc, err := decodeTaskConfig(cfg, &d.cfg.Plugin)
	if err != nil {
		return nil, err
	}
	if err := d.joinableContainer(ctx, cfg.AllocID, tc); err != nil {
		return nil, err
	}
	if err := d.ensureImage(ctx, cfg, tc); err != nil {
		return nil, err
	}
	spec, err := d.containerFor(cfg, tc)
	if err != nil {
		return nil, err
	}
	b, err := d.confineBinds(cfg, spec)
	if err != nil {
		return nil, fmt.Errorf("docker config: %w", err)
	}
	// Not bounded by ctx: a container started but reported as failed would
	// run with no handle to stop it. The pull above is where time goes.
	st, err := d.createAndStart(cfg, spec)
	b.release(d.logger)
	if err != nil {
		return nil, err
	}
	if !cfg.Logs.Disabled {
		if err := d.ensureCollector(cfg, st); err != nil {
			d.removeContainer(st.ContainerID)
			return nil, err
		}
	}
	h := drivers.NewTaskHandle(Name, handleVersion, cfg)
	if err := h.SetDriverState(st); err != nil {
		return nil, err
	}
	d.track(newTask(d, cfg.Copy(), st))
	d.logger.Debug("task started", "task_id", cfg.ID, "container_id", st.ContainerID)
	return h, nil
}

// containerFor is the task's container, its own /etc files written first
// when it needs them (etcfiles.go).
func (d *Driver) containerFor(cfg *drivers.TaskConfig, tc *TaskConfig) (*containerSpec, error) {
	etcCfg, err := d.withTaskEtcFiles(cfg, tc)
	if err != nil {
		return nil, err
	}
	spec, err := buildContainer(etcCfg, tc, &d.cfg.Plugin)
	if err != nil {
		return nil, fmt.Errorf("docker config: %w", err)
	}
	if cfg.Logs.Disabled {
		spec.host.LogConfig = container.LogConfig{Type: "none"}
	}
	return spec, nil
}

// createAndStart creates the container, replacing a leftover of the same
// task (a start that failed before its handle was saved), and starts it.
func (d *Driver) createAndStart(cfg *drivers.TaskConfig, spec *containerSpec) (*taskState, error) {
	ctx, cancel := d.apiCtx()
	defer cancel()
	create := client.ContainerCreateOptions{Config: spec.config, HostConfig: spec.host, Name: spec.name}
	resp, err := d.api.ContainerCreate(ctx, create)
	if cerrdefs.IsConflict(err) {
		if err = d.removeLeftover(ctx, cfg, spec.name); err == nil {
			resp, err = d.api.ContainerCreate(ctx, create)
		}
	}
	if err != nil {
		return nil, drivers.NewRecoverableError(fmt.Errorf("create container: %w", err))
	}
	if _, err := d.api.ContainerStart(ctx, resp.ID, client.ContainerStartOptions{}); err != nil {
		d.removeContainer(resp.ID)
		return nil, drivers.NewRecoverableError(fmt.Errorf("start container: %w", err))
	}
	info, err := d.inspect(ctx, resp.ID)
	if err != nil {
		return nil, drivers.NewRecoverableError(fmt.Errorf("inspect container %s: %w", resp.ID, err))
	}
	started, _ := time.Parse(time.RFC3339Nano, info.State.StartedAt)
	return &taskState{ContainerID: resp.ID, ContainerName: spec.name, Image: spec.config.Image, StartedAt: started}, nil
}

// removeLeftover removes a container with the task's name if it belongs to
// the same allocation and task; anything else is not roam's to remove.
func (d *Driver) removeLeftover(ctx context.Context, cfg *drivers.TaskConfig, name string) error {
	info, err := d.inspect(ctx, name)
	if err != nil {
		return fmt.Errorf("inspect conflicting container %s: %w", name, err)
	}
	l := info.Config.Labels
	if l[LabelAllocID] != cfg.AllocID || l[LabelTaskName] != cfg.Name {
		return fmt.Errorf("container name %s is taken by a container roam did not create for this task", name)
	}
	d.logger.Info("removing leftover container of the task", "container_id", info.ID)
	_, err = d.api.ContainerRemove(ctx, info.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	return err
}

func (d *Driver) removeContainer(id string) {
	ctx, cancel := d.apiCtx()
	defer cancel()
	_, err := d.api.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		d.logger.Warn("removing container", "container_id", id, "error", err)
	}
}

// ensureCollector makes sure a process copies the container's output into
// the task's log files.
func (d *Driver) ensureCollector(cfg *drivers.TaskConfig, st *taskState) error {
	st.CollectorDir = collectorDir(cfg)
	spec := collector.Spec{Endpoint: d.cfg.Plugin.Endpoint, ContainerID: st.ContainerID, Logs: executor.TaskLogs(cfg)}
	if _, err := collector.Ensure(d.cfg.Collector, st.CollectorDir, spec); err != nil {
		return fmt.Errorf("start log collector: %w", err)
	}
	return nil
}

// collectorDir keeps the collector's files with the task, in its private dir.
func collectorDir(cfg *drivers.TaskConfig) string {
	return filepath.Join(privateDir(cfg), "docker-logger")
}

// RecoverTask re-attaches to the container recorded in h, without
// restarting it; a collector that died meanwhile is started again and goes
// on from its cursor. A container that is gone is an error: the task is
// lost. A daemon that does not answer is not: the task's waiter waits for it.
func (d *Driver) RecoverTask(h *drivers.TaskHandle) error {
	if h == nil || h.Config == nil {
		return errors.New("recover: handle has no task config")
	}
	if d.lookup(h.Config.ID) != nil {
		return nil
	}
	var st taskState
	if err := h.GetDriverState(&st); err != nil {
		return fmt.Errorf("recover task %s: %w", h.Config.ID, err)
	}
	ctx, cancel := d.apiCtx()
	defer cancel()
	_, err := d.inspect(ctx, st.ContainerID)
	switch {
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("recover task %s: container %s is gone: %w", h.Config.ID, st.ContainerID, err)
	case err != nil:
		// The daemon does not answer (it may be restarting): the task is
		// tracked all the same; its waiter waits for the daemon.
		d.logger.Warn("recovering task while the Docker daemon does not answer", "task_id", h.Config.ID, "error", err)
	}
	if st.CollectorDir != "" {
		if err := d.ensureCollector(h.Config, &st); err != nil {
			return fmt.Errorf("recover task %s: %w", h.Config.ID, err)
		}
	}
	d.track(newTask(d, h.Config.Copy(), &st))
	d.logger.Debug("task recovered", "task_id", h.Config.ID, "container_id", st.ContainerID)
	return nil
}
