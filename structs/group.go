package structs

import (
	"fmt"
	"time"
)

// TaskGroup is a set of tasks placed together on one node as one allocation.
type TaskGroup struct {
	Name                      string
	Count                     int
	Update                    *UpdateStrategy
	Migrate                   *MigrateStrategy
	Constraints               []*Constraint
	Affinities                []*Affinity
	Spreads                   []*Spread
	RestartPolicy             *RestartPolicy
	ReschedulePolicy          *ReschedulePolicy
	Disconnect                *DisconnectStrategy
	EphemeralDisk             *EphemeralDisk
	Tasks                     []*Task
	Meta                      map[string]string
	Networks                  []*NetworkResource
	Services                  []*Service
	Volumes                   map[string]*VolumeRequest
	Consul                    *Consul
	ShutdownDelay             *time.Duration
	StopAfterClientDisconnect *time.Duration
	MaxClientDisconnect       *time.Duration
	Scaling                   *ScalingPolicy
	PreventRescheduleOnLost   bool
}

// LookupTask returns the named task or nil.
func (tg *TaskGroup) LookupTask(name string) *Task {
	for _, t := range tg.Tasks {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Network returns the group's network block, or nil in host mode without ports.
func (tg *TaskGroup) Network() *NetworkResource {
	if len(tg.Networks) == 0 {
		return nil
	}
	return tg.Networks[0]
}

// NetworkMode returns the group's network mode, host when unset.
func (tg *TaskGroup) NetworkMode() NetworkMode {
	if n := tg.Network(); n != nil && n.Mode != "" {
		return n.Mode
	}
	return NetworkModeHost
}

// DisconnectStrategy controls what happens to allocations on disconnected clients.
type DisconnectStrategy struct {
	LostAfter         time.Duration
	StopOnClientAfter *time.Duration
	Replace           *bool
	Reconcile         string
}

// EphemeralDisk is the scratch space of an allocation, shared as alloc/data.
type EphemeralDisk struct {
	Sticky  bool
	SizeMB  int
	Migrate bool
}

// DefaultEphemeralDisk is used when a group has no ephemeral_disk block.
func DefaultEphemeralDisk() *EphemeralDisk { return &EphemeralDisk{SizeMB: 300} }

// VolumeRequest asks for a host or CSI volume to be made available to the group.
type VolumeRequest struct {
	Name           string
	Type           string
	Source         string
	ReadOnly       bool
	Sticky         bool
	AccessMode     string
	AttachmentMode string
	MountOptions   *CSIMountOptions
	PerAlloc       bool
}

// SourceFor is the volume an allocation of index idx mounts: with
// per_alloc, Source followed by the index in brackets ("data" becomes
// "data[0]", "data[1]"…), so each allocation gets its own volume; else
// Source. The scheduler places on it and the client mounts it.
func (v *VolumeRequest) SourceFor(idx uint) string {
	if !v.PerAlloc {
		return v.Source
	}
	return fmt.Sprintf("%s[%d]", v.Source, idx)
}

// CSIMountOptions are mount options for CSI volumes.
type CSIMountOptions struct {
	FSType     string
	MountFlags []string
}

// Consul selects the Consul namespace/cluster for a group's services.
type Consul struct {
	Namespace string
	Cluster   string
	Partition string
}

// ScalingPolicy bounds a group's count for autoscalers.
type ScalingPolicy struct {
	ID      string
	Type    string
	Target  map[string]string
	Min     int64
	Max     int64
	Policy  map[string]any
	Enabled bool
}
