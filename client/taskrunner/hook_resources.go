package taskrunner

import (
	"sync"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
)

// AllocHookResources is what allocation hooks produce for the tasks: the
// network namespace to join, its addresses, volume mounts. The alloc runner
// creates one per allocation and shares it with every task runner; alloc
// hooks fill it in Prerun, before any task starts.
type AllocHookResources struct {
	mu            sync.RWMutex
	netIsolation  *drivers.NetworkIsolationSpec
	networkStatus *structs.AllocNetworkStatus
	mounts        []*drivers.MountConfig
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

// AddMounts records host paths to mount into the tasks.
func (r *AllocHookResources) AddMounts(m ...*drivers.MountConfig) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mounts = append(r.mounts, m...)
}

// Mounts returns the recorded mounts.
func (r *AllocHookResources) Mounts() []*drivers.MountConfig {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]*drivers.MountConfig(nil), r.mounts...)
}
