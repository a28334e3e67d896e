package taskrunner

import (
	"sync"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
)

// AllocHookResources is what allocation hooks produce for the tasks: the
// network namespace to join, its addresses, the group's host volumes. The
// alloc runner creates one per allocation and shares it with every task
// runner; alloc hooks fill it in Prerun, before any task starts.
type AllocHookResources struct {
	mu            sync.RWMutex
	netIsolation  *drivers.NetworkIsolationSpec
	networkStatus *structs.AllocNetworkStatus
	volumes       map[string]*HostVolume
	netMounts     []*drivers.MountConfig
}

// SetNetworkMounts records the namespace's resolv.conf and hosts files,
// mounted at /etc in tasks whose driver isolates the filesystem.
func (r *AllocHookResources) SetNetworkMounts(m []*drivers.MountConfig) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.netMounts = m
}

// NetworkMounts returns the namespace's /etc files to mount, or nil.
func (r *AllocHookResources) NetworkMounts() []*drivers.MountConfig {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.netMounts
}

// SetNetworkIsolation records the allocation's network namespace.
func (r *AllocHookResources) SetNetworkIsolation(spec *drivers.NetworkIsolationSpec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.netIsolation = spec
}

// NetworkIsolation is the namespace tasks join, or nil for the host's.
func (r *AllocHookResources) NetworkIsolation() *drivers.NetworkIsolationSpec {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.netIsolation
}

// SetNetworkStatus records the namespace's addresses.
func (r *AllocHookResources) SetNetworkStatus(ns *structs.AllocNetworkStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.networkStatus = ns
}

// NetworkStatus returns the namespace's addresses, or nil.
func (r *AllocHookResources) NetworkStatus() *structs.AllocNetworkStatus {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.networkStatus
}

// HostVolume is one of the group's volumes, resolved by the allocation's
// volume hook to a directory on this node.
type HostVolume struct {
	// Name is the group's name for it (what volume_mount.volume refers to);
	// Source is the client's host_volume name.
	Name   string
	Source string
	Path   string
	// ReadOnly: the group asked for it read-only, or the client offers it
	// read-only; either way no task may write to it.
	ReadOnly bool
}

// SetHostVolumes records the group's resolved volumes, by group name.
func (r *AllocHookResources) SetHostVolumes(v map[string]*HostVolume) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.volumes = v
}

// HostVolume returns the resolved volume the group calls name, or nil.
func (r *AllocHookResources) HostVolume(name string) *HostVolume {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.volumes[name]
}
