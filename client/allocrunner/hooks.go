package allocrunner

import (
	"context"

	"github.com/roam-sh/roam/structs"
)

// RunnerHook is the base of every allocation hook. A hook implements any of the
// one-method interfaces below; the alloc runner calls each stage on the hooks
// that implement it, in the order of the list built by initHooks (destroy
// stages run in reverse order, undoing what Prerun did last first).
//
// Contracts for all stages: stages of one allocation never run concurrently,
// hooks must honour ctx, and every stage must be idempotent and safe to call
// without a prior Prerun: a restarted client runs Prerun again on a live
// allocation, and may Destroy one it never prepared.
type RunnerHook interface {
	Name() string
}

// Prerunner prepares the allocation before any task starts (directories,
// network namespace, volumes). An error fails every task of the allocation.
type Prerunner interface {
	RunnerHook
	Prerun(ctx context.Context) error
}

// Postrunner runs once every task of the allocation is dead.
type Postrunner interface {
	RunnerHook
	Postrun(ctx context.Context) error
}

// Updater is told about in-place updates of the allocation.
type Updater interface {
	RunnerHook
	Update(ctx context.Context, req *UpdateRequest) error
}

// UpdateRequest is what an update hook sees.
type UpdateRequest struct {
	Alloc *structs.Allocation
}

// PreKiller runs before the allocation's tasks are killed (deregister group
// services and wait out shutdown_delay, so traffic drains first).
type PreKiller interface {
	RunnerHook
	PreKill(ctx context.Context)
}

// Destroyer releases what Prerun made, once the allocation is removed from the
// node. It runs after every task is dead.
type Destroyer interface {
	RunnerHook
	Destroy(ctx context.Context) error
}

// Shutdowner is told the client is shutting down and leaving the allocation
// running; it must not undo anything the tasks still use.
type Shutdowner interface {
	RunnerHook
	Shutdown()
}

// initHooks returns the allocation's hooks in the order they run. Order is
// data: each entry says why it sits where it does.
func (ar *AllocRunner) initHooks() []RunnerHook {
	return []RunnerHook{
		// The alloc dir first: the network namespace, volumes and every task
		// write into it, and destroying it last (reverse order) removes
		// whatever the others left there.
		newAllocDirHook(ar.allocDir, ar.logger),
		// Host volumes next: resolved against the node before any task
		// starts, so a missing one fails the allocation with its name.
		newVolumeHook(ar.cfg.Alloc, ar.cfg.Node, ar.hookResources, ar.logger),
		// The network after the alloc dir (its resolv.conf and hosts go
		// there) and before any task (every task joins the namespace; the
		// tasks' env needs its address). Destroy order makes it go before
		// the alloc dir is removed. Group services, when they land, come
		// next: they register the ports this hook mapped.
		newNetworkHook(ar),
		//
		// The group's shutdown_delay last: its PreKill wait must follow the
		// services' deregistration so traffic drains before tasks are killed.
		newShutdownDelayHook(ar.currentAlloc, ar.logger),
	}
}

var (
	_ Prerunner  = (*allocDirHook)(nil)
	_ Destroyer  = (*allocDirHook)(nil)
	_ Prerunner  = (*volumeHook)(nil)
	_ Prerunner  = (*networkHook)(nil)
	_ Postrunner = (*networkHook)(nil)
	_ Destroyer  = (*networkHook)(nil)
	_ PreKiller  = (*shutdownDelayHook)(nil)
)
