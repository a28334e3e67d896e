package allocrunner

import (
	"context"

	"github.com/roam-sh/roam/client/taskenv"
	"github.com/roam-sh/roam/client/taskrunner"
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
//
// Contexts: Prerun and Update get the runner's context, which ends when the
// allocation is stopped (killed), the runner shut down (client restart) or
// the allocation destroyed, so a stage blocked on it never holds those up.
// PreKill, Postrun and Destroy are part of stopping the allocation and must
// not be cut short by the stop they serve: their context ends only when the
// client shuts down.
type RunnerHook interface {
	Name() string
}

// HookRequest is what every stage of an allocation hook sees.
type HookRequest struct {
	// Alloc is the servers' latest version of the allocation.
	Alloc *structs.Allocation
	// Env is the allocation's environment (NOMAD_ALLOC_ID, NOMAD_GROUP_NAME,
	// NOMAD_META_*, ports, node attributes; no task's variables), for
	// interpolating service names and tags: Env.Interpolate("${NOMAD_JOB_NAME}-api").
	Env *taskenv.TaskEnv
	// Network is the group network the network hook set up: namespace
	// path, address, mapped ports. Nil for hooks before the network hook
	// and for groups without an isolated network.
	Network *NetworkResult
	// Lifecycle restarts, signals or kills the allocation's tasks by name
	// and records events in their states.
	Lifecycle Lifecycle
	// State is this hook's saved state, persisted per allocation and hook;
	// after a client restart it holds what the hook saved before.
	State *taskrunner.HookState
}

// Prerunner prepares the allocation before any task starts (directories,
// network namespace, volumes). An error fails every task of the allocation.
type Prerunner interface {
	RunnerHook
	Prerun(ctx context.Context, req *PrerunRequest, resp *PrerunResponse) error
}

// PrerunRequest is what a prerun hook sees.
type PrerunRequest struct{ HookRequest }

// PrerunResponse is what a prerun hook returns.
type PrerunResponse struct {
	// Network, set by the hook that set up the group's network, is handed
	// to every later hook (HookRequest.Network) and to NetworkMovers.
	Network *NetworkResult
}

// Runninger is told, once per runner, that every main task of the
// allocation runs (started, or re-attached by a restarted client): group
// services register then, so no instance is announced before its task
// serves. It runs in its own goroutine, with the runner's context, and may
// race a stop: a hook that also implements PreKiller must ignore a Running
// that comes after its PreKill.
type Runninger interface {
	RunnerHook
	Running(ctx context.Context, req *RunningRequest) error
}

// RunningRequest is what a running hook sees.
type RunningRequest struct{ HookRequest }

// Postrunner runs once every task of the allocation is dead.
type Postrunner interface {
	RunnerHook
	Postrun(ctx context.Context, req *PostrunRequest) error
}

// PostrunRequest is what a postrun hook sees.
type PostrunRequest struct{ HookRequest }

// Updater is told about in-place updates of the allocation.
type Updater interface {
	RunnerHook
	Update(ctx context.Context, req *UpdateRequest) error
}

// UpdateRequest is what an update hook sees; Alloc is the new version.
type UpdateRequest struct{ HookRequest }

// PreKiller runs before the allocation's tasks are killed (deregister group
// services and wait out shutdown_delay, so traffic drains first).
type PreKiller interface {
	RunnerHook
	PreKill(ctx context.Context, req *PreKillRequest)
}

// PreKillRequest is what a pre-kill hook sees.
type PreKillRequest struct{ HookRequest }

// Destroyer releases what Prerun made, once the allocation is removed from the
// node. It runs after every task is dead. The hook's saved state is deleted
// with the allocation's, after the destroy hooks ran.
type Destroyer interface {
	RunnerHook
	Destroy(ctx context.Context, req *DestroyRequest) error
}

// DestroyRequest is what a destroy hook sees.
type DestroyRequest struct{ HookRequest }

// Shutdowner is told the client is shutting down and leaving the allocation
// running; it must not undo anything the tasks still use. It gets no
// context: it must only stop the hook's own goroutines, quickly.
type Shutdowner interface {
	RunnerHook
	Shutdown()
}

// NetworkMover is implemented by hooks that must act when the allocation's
// network namespace is replaced under its tasks (a host reboot, a Docker
// restart, a namespace deleted by hand): the network hook re-publishes the
// namespace and names the tasks that must restart to join it; a proxy or a
// service registration would re-bind or re-register its addresses.
//
// The runner calls it in hook order in two cases: while it is restored
// (Recovering: Prerun found the namespace made anew and tasks are about to
// be re-attached), and when the client's repair loop moved a running
// allocation into a new namespace (client/network.go, AllocRunner.NetworkMoved).
type NetworkMover interface {
	RunnerHook
	NetworkMoved(ctx context.Context, req *NetworkMovedRequest, resp *NetworkMovedResponse) error
}

// NetworkMovedRequest is what a NetworkMover sees; Network is the new one.
type NetworkMovedRequest struct {
	HookRequest
	// Recovering: the move was found by Prerun while the runner was being
	// restored; the namespace is already published and no task re-attached
	// yet.
	Recovering bool
}

// NetworkMovedResponse is what a NetworkMover returns.
type NetworkMovedResponse struct {
	// Rejoin names the tasks still in the old namespace: the runner
	// restarts them (those about to be re-attached, once they are) so
	// they join the new one.
	Rejoin []string
}

// initHooks returns the allocation's hooks in the order they run. Order is
// data: each entry says why it sits where it does.
func (ar *AllocRunner) initHooks() []RunnerHook {
	chk := newChecksHook(ar)
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
		// the alloc dir is removed.
		newNetworkHook(ar),
		// Deployment health before the checks: its PreKill must stop
		// judging before checks stop and services deregister, so an
		// allocation being stopped is never found unhealthy. It reads what
		// the checks hook reports (statuses) and the services hooks
		// publish (instances), both of which may come later.
		newHealthHook(ar, chk),
		// Checks before the group services: they follow what the services
		// hooks publish, so their order at start does not matter, but
		// PreKill must stop every check before the services hook
		// deregisters (no status reported for an instance on its way out,
		// no check_restart of a task being stopped).
		chk,
		// Group services after the network: they register the ports and
		// address it set up (req.Network), and re-register when it moves.
		// Before shutdown_delay: PreKill deregisters, then the delay runs.
		newServicesHook(ar.cfg.Services, ar.instances, ar.cfg.Alloc, ar.cfg.Node, ar.logger),
		// The group's shutdown_delay last: its PreKill wait must follow the
		// services' deregistration so traffic drains before tasks are killed.
		newShutdownDelayHook(ar.logger),
	}
}

var (
	_ Prerunner    = (*allocDirHook)(nil)
	_ Destroyer    = (*allocDirHook)(nil)
	_ Prerunner    = (*volumeHook)(nil)
	_ Prerunner    = (*networkHook)(nil)
	_ Postrunner   = (*networkHook)(nil)
	_ Destroyer    = (*networkHook)(nil)
	_ NetworkMover = (*networkHook)(nil)
	_ PreKiller    = (*shutdownDelayHook)(nil)
	_ Prerunner    = (*checksHook)(nil)
	_ PreKiller    = (*checksHook)(nil)
	_ Postrunner   = (*checksHook)(nil)
	_ Destroyer    = (*checksHook)(nil)
	_ Shutdowner   = (*checksHook)(nil)
	_ Prerunner    = (*healthHook)(nil)
	_ Updater      = (*healthHook)(nil)
	_ PreKiller    = (*healthHook)(nil)
	_ Postrunner   = (*healthHook)(nil)
	_ Destroyer    = (*healthHook)(nil)
	_ Shutdowner   = (*healthHook)(nil)
	_ Runninger    = (*servicesHook)(nil)
	_ Updater      = (*servicesHook)(nil)
	_ NetworkMover = (*servicesHook)(nil)
	_ PreKiller    = (*servicesHook)(nil)
	_ Postrunner   = (*servicesHook)(nil)
	_ Destroyer    = (*servicesHook)(nil)
)
