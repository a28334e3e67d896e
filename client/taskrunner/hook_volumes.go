package taskrunner

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
)

// volumesHook turns the task's volume_mount blocks into the driver's mounts,
// from the group volumes the allocation's volume hook resolved. A mount of a
// volume that was not resolved fails the start: running the task without
// its data would be worse.
//
// Drivers without filesystem isolation (raw_exec) cannot mount anything;
// like Nomad, roam then runs the task without the mounts (the task can reach
// the host paths directly) and only logs it.
type volumesHook struct {
	res    *AllocHookResources
	driver drivers.Driver
	set    func([]*drivers.MountConfig)
	logger *slog.Logger
}

func newVolumesHook(res *AllocHookResources, driver drivers.Driver, set func([]*drivers.MountConfig), logger *slog.Logger) *volumesHook {
	return &volumesHook{res: res, driver: driver, set: set, logger: logger}
}

func (h *volumesHook) Name() string { return "volumes" }

func (h *volumesHook) Prestart(_ context.Context, req *PrestartRequest, _ *PrestartResponse) error {
	mounts, err := taskMounts(req.Task, h.res)
	if err != nil {
		return err
	}
	if len(mounts) > 0 && h.driver != nil && !h.driver.Capabilities().MountConfigs {
		h.logger.Debug("driver cannot mount volumes; the task runs without them",
			"driver", h.driver.Name(), "mounts", len(mounts))
		mounts = nil
	}
	h.set(mounts)
	return nil
}

// taskMounts maps each volume_mount to its resolved host volume. A mount is
// read-only when the task, the group or the client says so.
func taskMounts(task *structs.Task, res *AllocHookResources) ([]*drivers.MountConfig, error) {
	var out []*drivers.MountConfig
	for _, vm := range task.VolumeMounts {
		v := res.HostVolume(vm.Volume)
		if v == nil {
			return nil, fmt.Errorf("volume_mount: volume %q was not prepared for the allocation", vm.Volume)
		}
		out = append(out, &drivers.MountConfig{
			TaskPath: vm.Destination, HostPath: v.Path, Readonly: vm.ReadOnly || v.ReadOnly,
			PropagationMode: vm.PropagationMode,
		})
	}
	return out, nil
}
