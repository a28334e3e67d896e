package taskrunner

import (
	"context"
	"log/slog"

	"github.com/roam-sh/roam/client/servicereg"
	"github.com/roam-sh/roam/structs"
)

// servicesHook registers the task's services once the task runs (Poststart,
// and Reattached after a client restart: the same deterministic IDs, so
// nothing is duplicated), re-registers them on
// in-place updates, and deregisters them before the task is killed
// (PreKilling, ahead of the task's shutdown_delay), when its process exits
// (a restart registers again) and when it is dead for good.
type servicesHook struct {
	reg   *servicereg.Registrar
	alloc func() *structs.Allocation
	node  *structs.Node
	res   *AllocHookResources
	// running: registered by this process and not deregistered since, so
	// an Update re-registers.
	running bool
}

func newServicesHook(cfg Config, alloc func() *structs.Allocation, logger *slog.Logger) *servicesHook {
	return &servicesHook{alloc: alloc, node: cfg.Node, res: cfg.HookResources, reg: &servicereg.Registrar{
		Catalog: cfg.Services, Instances: cfg.ServiceInstances,
		Owner:  servicereg.Owner{Group: cfg.Alloc.TaskGroup, Task: cfg.Task.Name},
		Logger: logger.With("hook", "task_services"),
	}}
}

func (h *servicesHook) Name() string { return "task_services" }

func (h *servicesHook) Poststart(ctx context.Context, req *PoststartRequest) error {
	h.running = true
	return h.register(ctx, h.alloc(), req.Task, req.TaskEnv.Interpolate, req.Lifecycle, req.State)
}

// Reattached registers again after a client restart: the same IDs, so the
// servers change nothing, and the check runner learns of the instances.
func (h *servicesHook) Reattached(ctx context.Context, req *ReattachRequest) error {
	h.running = true
	return h.register(ctx, req.Alloc, req.Task, req.TaskEnv.Interpolate, req.Lifecycle, req.State)
}

func (h *servicesHook) Update(ctx context.Context, req *UpdateRequest) error {
	if !h.running {
		return nil
	}
	return h.register(ctx, req.Alloc, req.Task, req.TaskEnv.Interpolate, req.Lifecycle, req.State)
}

func (h *servicesHook) register(ctx context.Context, a *structs.Allocation, t *structs.Task, interp func(string) string, lc Lifecycle, st *HookState) error {
	insts, err := servicereg.Build(servicereg.BuildInput{
		Alloc: a, Owner: h.reg.Owner, Services: t.Services, Interpolate: interp,
		Network: h.network(a), Datacenter: h.datacenter(),
	})
	if err != nil {
		ev := structs.NewTaskEvent(structs.TaskHookFailed)
		ev.Message = "services: " + err.Error()
		lc.EmitEvent(ev)
	}
	return h.reg.Register(ctx, st, insts)
}

func (h *servicesHook) PreKilling(ctx context.Context, req *PreKillRequest) error {
	h.running = false
	return h.reg.Deregister(ctx, req.State)
}

func (h *servicesHook) Exited(ctx context.Context, req *ExitedRequest) error {
	h.running = false
	return h.reg.Deregister(ctx, req.State)
}

func (h *servicesHook) Stop(ctx context.Context, req *StopRequest) error {
	h.running = false
	return h.reg.Deregister(ctx, req.State)
}

// network is where the task's services are reached: the node's address
// and the group's ports, and the group namespace's address if it has one
// (every task of such a group runs in it).
func (h *servicesHook) network(a *structs.Allocation) *servicereg.Network {
	n := &servicereg.Network{}
	if h.node != nil {
		n.HostAddress = h.node.Attributes[structs.AttrNetworkIPAddress]
	}
	if a.AllocatedResources != nil {
		n.Ports = a.AllocatedResources.Shared.Ports
	}
	if h.res != nil {
		if ns := h.res.NetworkStatus(); ns != nil {
			n.AllocAddress = ns.Address
		}
		if iso := h.res.NetworkIsolation(); iso != nil {
			n.NSPath = iso.Path
		}
	}
	return n
}

func (h *servicesHook) datacenter() string {
	if h.node == nil {
		return ""
	}
	return h.node.Datacenter
}
