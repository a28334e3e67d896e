package scheduler

import (
	"maps"
	"reflect"

	"github.com/roam-sh/roam/structs"
)

// sameJobVersion reports whether an allocation already runs the job as it is.
func sameJobVersion(allocJob, job *structs.Job) bool {
	if allocJob == job {
		return true
	}
	if allocJob == nil || job == nil {
		return false
	}
	return allocJob.Version == job.Version && allocJob.JobModifyIndex == job.JobModifyIndex
}

// destructiveChange reports whether moving an allocation of group from oldJob
// to newJob needs a new allocation (the tasks must restart) rather than an
// in-place update. What a task sees on start is destructive: driver, config,
// environment and meta (exported as NOMAD_META_*), resources, artifacts,
// templates, volumes, the network and its ports, services that use ports or
// the mesh, and placement preferences. Count, update, restart and reschedule
// policies, constraints (re-checked against the node) and plain service
// changes are not.
func destructiveChange(oldJob, newJob *structs.Job, group string) bool {
	a, b := oldJob.LookupTaskGroup(group), newJob.LookupTaskGroup(group)
	if a == nil || b == nil {
		return true
	}
	if groupChanged(a, b) || placementPrefsChanged(oldJob, newJob, a, b) {
		return true
	}
	if !maps.Equal(combinedMeta(oldJob, a, nil), combinedMeta(newJob, b, nil)) {
		return true
	}
	for _, at := range a.Tasks {
		bt := b.LookupTask(at.Name)
		if bt == nil || taskChanged(at, bt) {
			return true
		}
		if !maps.Equal(combinedMeta(oldJob, a, at), combinedMeta(newJob, b, bt)) {
			return true
		}
	}
	return false
}

func groupChanged(a, b *structs.TaskGroup) bool {
	return len(a.Tasks) != len(b.Tasks) ||
		!reflect.DeepEqual(a.Networks, b.Networks) ||
		!reflect.DeepEqual(diskOf(a), diskOf(b)) ||
		!reflect.DeepEqual(a.Volumes, b.Volumes) ||
		portServicesChanged(a.Services, b.Services)
}

func placementPrefsChanged(oldJob, newJob *structs.Job, a, b *structs.TaskGroup) bool {
	if !reflect.DeepEqual(oldJob.Affinities, newJob.Affinities) || !reflect.DeepEqual(oldJob.Spreads, newJob.Spreads) {
		return true
	}
	return !reflect.DeepEqual(a.Affinities, b.Affinities) || !reflect.DeepEqual(a.Spreads, b.Spreads)
}

func taskChanged(a, b *structs.Task) bool {
	switch {
	case a.Driver != b.Driver, a.User != b.User, a.Kind != b.Kind, a.KillSignal != b.KillSignal:
		return true
	case !reflect.DeepEqual(a.Config, b.Config), !maps.Equal(a.Env, b.Env):
		return true
	case !reflect.DeepEqual(a.Artifacts, b.Artifacts), !reflect.DeepEqual(a.Templates, b.Templates):
		return true
	case !reflect.DeepEqual(a.Vault, b.Vault), !reflect.DeepEqual(a.DispatchPayload, b.DispatchPayload):
		return true
	case !reflect.DeepEqual(a.Lifecycle, b.Lifecycle), !reflect.DeepEqual(a.LogConfig, b.LogConfig):
		return true
	case !reflect.DeepEqual(a.VolumeMounts, b.VolumeMounts), !reflect.DeepEqual(a.Affinities, b.Affinities):
		return true
	case !reflect.DeepEqual(resourcesOf(a), resourcesOf(b)):
		return true
	}
	return portServicesChanged(a.Services, b.Services)
}

// portServicesChanged reports whether services that bind ports or join the
// mesh changed; those need the allocation's network to be rebuilt.
func portServicesChanged(a, b []*structs.Service) bool {
	return !reflect.DeepEqual(portServiceKeys(a), portServiceKeys(b))
}

type portServiceKey struct {
	name, port string
	connect    *structs.ConsulConnect
}

func portServiceKeys(svcs []*structs.Service) []portServiceKey {
	var out []portServiceKey
	for _, s := range svcs {
		if s.PortLabel == "" && s.Connect == nil {
			continue
		}
		out = append(out, portServiceKey{name: s.Name, port: s.PortLabel, connect: s.Connect})
	}
	return out
}

// combinedMeta is the meta a task sees: job, then group, then task.
func combinedMeta(job *structs.Job, tg *structs.TaskGroup, t *structs.Task) map[string]string {
	out := make(map[string]string, len(job.Meta)+len(tg.Meta))
	maps.Copy(out, job.Meta)
	maps.Copy(out, tg.Meta)
	if t != nil {
		maps.Copy(out, t.Meta)
	}
	return out
}

func diskOf(tg *structs.TaskGroup) *structs.EphemeralDisk {
	if tg.EphemeralDisk == nil {
		return structs.DefaultEphemeralDisk()
	}
	return tg.EphemeralDisk
}

func resourcesOf(t *structs.Task) *structs.Resources {
	if t.Resources == nil {
		return structs.DefaultResources()
	}
	return t.Resources
}
