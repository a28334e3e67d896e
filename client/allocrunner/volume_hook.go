package allocrunner

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"

	"github.com/roam-sh/roam/client/taskrunner"
	"github.com/roam-sh/roam/structs"
)

// volumeHook resolves the group's host volumes against the node's before any
// task starts, and hands them to the tasks (whose volume_mount blocks pick
// them by name) through AllocHookResources. A volume the node does not offer,
// or whose directory is missing, fails the allocation's start: every task
// gets a Setup Failure saying which.
type volumeHook struct {
	alloc  *structs.Allocation
	node   *structs.Node
	res    *taskrunner.AllocHookResources
	logger *slog.Logger
}

func newVolumeHook(alloc *structs.Allocation, node *structs.Node, res *taskrunner.AllocHookResources, logger *slog.Logger) *volumeHook {
	return &volumeHook{alloc: alloc, node: node, res: res, logger: logger}
}

func (h *volumeHook) Name() string { return "volumes" }

func (h *volumeHook) Prerun(context.Context, *PrerunRequest, *PrerunResponse) error {
	tg := h.alloc.LookupTaskGroup()
	if tg == nil || len(tg.Volumes) == 0 {
		return nil
	}
	vols := make(map[string]*taskrunner.HostVolume, len(tg.Volumes))
	for _, name := range slices.Sorted(maps.Keys(tg.Volumes)) {
		v, err := h.resolve(name, tg.Volumes[name])
		if err != nil {
			return err
		}
		vols[name] = v
		h.logger.Debug("host volume resolved", "volume", name, "path", v.Path, "read_only", v.ReadOnly)
	}
	h.res.SetHostVolumes(vols)
	return nil
}

// resolve finds one group volume on the node. A volume read-only at the
// client is read-only for every task, whatever the job says.
func (h *volumeHook) resolve(name string, req *structs.VolumeRequest) (*taskrunner.HostVolume, error) {
	if req.Type != "host" {
		return nil, fmt.Errorf("volume %q: type %q is not supported by this client", name, req.Type)
	}
	source := req.SourceFor(h.alloc.Index())
	hv := h.node.HostVolumes[source]
	if hv == nil {
		return nil, fmt.Errorf("volume %q: host volume %q is not configured on this client", name, source)
	}
	fi, err := os.Stat(hv.Path)
	if err != nil {
		return nil, fmt.Errorf("volume %q: host volume %q: %w", name, source, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("volume %q: host volume %q: %s is not a directory", name, source, hv.Path)
	}
	return &taskrunner.HostVolume{Name: name, Source: source, Path: hv.Path, ReadOnly: req.ReadOnly || hv.ReadOnly}, nil
}
