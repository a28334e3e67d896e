package allocrunner

import (
	"context"
	"log/slog"
	"sync"

	"github.com/roam-sh/roam/client/servicereg"
	"github.com/roam-sh/roam/structs"
)

// servicesHook registers the group's services (task-level services are the
// task runner's, client/taskrunner/hook_services.go) in the catalog once
// the group's main tasks run, re-registers them on in-place updates and
// when the namespace is made anew, and deregisters them before the tasks
// are killed (PreKill, ahead of the shutdown_delay hook) and whatever is
// left when every task is dead or the allocation is destroyed.
//
// The IDs it registered live in its hook state, so a restarted client
// deregisters exactly those; registering again after a restart upserts the
// same IDs (servicereg's deterministic scheme), never duplicates.
type servicesHook struct {
	reg  *servicereg.Registrar
	node *structs.Node
	// mu guards stopped: once PreKill deregistered, a late Running (the
	// coordinator raced the stop) must not register again.
	mu      sync.Mutex
	stopped bool
	running bool
}

func newServicesHook(catalog servicereg.Catalog, insts *servicereg.Instances, a *structs.Allocation, node *structs.Node, logger *slog.Logger) *servicesHook {
	return &servicesHook{node: node, reg: &servicereg.Registrar{
		Catalog: catalog, Instances: insts, Owner: servicereg.Owner{Group: a.TaskGroup},
		Logger: logger.With("hook", "group_services"),
	}}
}

func (h *servicesHook) Name() string { return "group_services" }

// Running registers the group's services: every main task runs now.
func (h *servicesHook) Running(ctx context.Context, req *RunningRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return nil
	}
	h.running = true
	return h.register(ctx, &req.HookRequest)
}

// Update re-registers with the new version (tags, meta, canary status).
func (h *servicesHook) Update(ctx context.Context, req *UpdateRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped || !h.running {
		return nil
	}
	return h.register(ctx, &req.HookRequest)
}

// NetworkMoved re-registers: the allocation's address may have changed.
func (h *servicesHook) NetworkMoved(ctx context.Context, req *NetworkMovedRequest, resp *NetworkMovedResponse) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped || len(servicereg.Registered(req.State)) == 0 {
		return nil
	}
	return h.register(ctx, &req.HookRequest)
}

func (h *servicesHook) register(ctx context.Context, req *HookRequest) error {
	tg := req.Alloc.LookupTaskGroup()
	if tg == nil {
		return nil
	}
	insts, err := servicereg.Build(servicereg.BuildInput{
		Alloc: req.Alloc, Owner: h.reg.Owner, Services: tg.Services,
		Interpolate: req.Env.Interpolate, Network: groupServiceNetwork(req, h.node), Datacenter: h.node.Datacenter,
	})
	if err != nil {
		// Validation refused what it could see; an interpolated name can
		// still be wrong here. Say so on every task, register the rest.
		h.reg.Logger.Error("group services not registered", "error", err)
		for _, t := range tg.Tasks {
			ev := structs.NewTaskEvent(structs.TaskHookFailed)
			ev.Message = "group services: " + err.Error()
			_ = req.Lifecycle.EmitTaskEvent(t.Name, ev)
		}
	}
	return h.reg.Register(ctx, req.State, insts)
}

// PreKill deregisters before the tasks are killed; the shutdown_delay hook
// runs after this one, so traffic drains from instances already gone.
func (h *servicesHook) PreKill(ctx context.Context, req *PreKillRequest) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	if err := h.reg.Deregister(ctx, req.State); err != nil {
		h.reg.Logger.Warn("deregistering group services", "error", err)
	}
}

// Postrun removes what is left once every task is dead (a task that died
// on its own, without a stop).
func (h *servicesHook) Postrun(ctx context.Context, req *PostrunRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	return h.reg.Deregister(ctx, req.State)
}

// Destroy removes what an earlier client process may have left registered.
func (h *servicesHook) Destroy(ctx context.Context, req *DestroyRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	return h.reg.Deregister(ctx, req.State)
}

// groupServiceNetwork is where the group's services are reached: the node's
// address and the group's ports, and the namespace's address when the
// group has one.
func groupServiceNetwork(req *HookRequest, node *structs.Node) *servicereg.Network {
	n := &servicereg.Network{HostAddress: nodeAddress(node)}
	if res := req.Alloc.AllocatedResources; res != nil {
		n.Ports = res.Shared.Ports
	}
	if req.Network != nil {
		n.NSPath = req.Network.NSPath
		if req.Network.Status != nil {
			n.AllocAddress = req.Network.Status.Address
		}
	}
	return n
}

// nodeAddress is the node's advertised address.
func nodeAddress(node *structs.Node) string {
	if node == nil {
		return ""
	}
	return node.Attributes[structs.AttrNetworkIPAddress]
}
