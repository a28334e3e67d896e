package allocrunner

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/roam-sh/roam/client/servicereg"
	"github.com/roam-sh/roam/client/taskrunner"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/services/checks"
	"github.com/roam-sh/roam/structs"
)

// checksHook runs the health checks of the allocation's registered service
// instances, group and task services alike: it follows what the services
// hooks publish (servicereg.Instances), runs each check with a
// checks.Runner (dialing inside the group's namespace when it has one,
// exec'ing script checks through the task's driver, restarting the task
// for check_restart through the Lifecycle) and reports status changes to
// the servers through a checks.Batcher, so the catalog's instances carry
// their health.
//
// The last status of every check is kept in the hook's state: after a
// client restart a failing check starts failing, and its status is sent
// again (a change queued but not sent before the restart is not lost).
// PreKill stops every check before the services hooks deregister (this
// hook sits before them), Shutdown stops them leaving the tasks running.
type checksHook struct {
	alloc   *structs.Allocation
	insts   *servicereg.Instances
	catalog servicereg.Catalog
	exec    func(ctx context.Context, task string, opts *drivers.ExecOptions) (*drivers.ExitResult, error)
	logger  *slog.Logger

	mu       sync.Mutex
	stopped  bool
	cancel   context.CancelFunc
	done     chan struct{}
	runner   *checks.Runner
	state    *taskrunner.HookState
	statuses map[string]*structs.ServiceCheckStatus // by check ID: the latest reported
	regs     map[string]*checkedInstance            // by registration ID
	// statusNotify wakes the deployment health watcher on every change.
	statusNotify notifier
}

// checkedInstance is what an instance's health update is built from.
type checkedInstance struct {
	token    string
	checkIDs []string // in the service block's order
}

func newChecksHook(ar *AllocRunner) *checksHook {
	return &checksHook{
		alloc: ar.cfg.Alloc, insts: ar.instances, catalog: ar.cfg.Services, exec: ar.ExecTask,
		logger: ar.logger.With("hook", "checks"),
	}
}

func (h *checksHook) Name() string { return "checks" }

// Prerun starts following the registered instances; checks start as the
// services hooks register them (once the tasks run).
func (h *checksHook) Prerun(ctx context.Context, req *PrerunRequest, _ *PrerunResponse) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped || h.runner != nil || h.catalog == nil {
		return nil
	}
	h.state = req.State
	h.statuses = loadCheckStatuses(req.State.Saved())
	h.regs = map[string]*checkedInstance{}
	lifecycle := req.Lifecycle
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.cancel, h.done = cancel, make(chan struct{})
	batcher := checks.NewBatcher(h.catalog.UpdateHealth, 0, h.logger)
	h.runner = checks.NewRunner(runCtx, checks.Config{
		Logger:   h.logger,
		OnChange: func(c checks.Change) { h.changed(batcher, c) },
		Restart: func(ctx context.Context, task, reason string) error {
			ev := taskrunner.NewRestartEvent(reason)
			return lifecycle.RestartTask(ctx, task, ev)
		},
	})
	go func() {
		defer close(h.done)
		var wg sync.WaitGroup
		wg.Go(func() { batcher.Run(runCtx) })
		h.follow(runCtx)
		wg.Wait()
	}()
	return nil
}

// follow keeps the runner's checks those of the registered instances until
// ctx ends.
func (h *checksHook) follow(ctx context.Context) {
	for {
		changed := h.insts.Changed()
		h.runner.Set(h.build(h.insts.Snapshot()))
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// build resolves the checks of every instance.
func (h *checksHook) build(insts []*servicereg.Instance) []*checks.Check {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*checks.Check
	clear(h.regs)
	for _, in := range insts {
		ci := &checkedInstance{token: in.Token}
		regID := in.Registration.ID
		for i, def := range in.Service.Checks {
			if def == nil {
				continue
			}
			c := h.check(in, i, def)
			ci.checkIDs = append(ci.checkIDs, c.ID)
			out = append(out, c)
		}
		h.regs[regID] = ci
	}
	return out
}

// check resolves one check of an instance: its address (inside the group's
// namespace when it has one: every task of the group listens there, on
// the port's "to", whether or not the port is mapped on the host), its
// task and its starting status.
func (h *checksHook) check(in *servicereg.Instance, i int, def *structs.ServiceCheck) *checks.Check {
	id := servicereg.CheckID(in.Registration.ID, i)
	c := &checks.Check{
		ID: id, AllocID: h.alloc.ID, Group: h.alloc.TaskGroup, Task: in.Task, Service: in.Registration.ServiceName,
		Def: def, Restart: def.CheckRestart, Exec: h.execFunc(),
	}
	if def.TaskName != "" {
		c.Task = def.TaskName
	}
	if st := h.statuses[id]; st != nil {
		c.Initial = st.Status
	}
	port := def.PortLabel
	if port == "" {
		port = in.Service.PortLabel
	}
	mode := def.AddressMode
	if ns := in.Network.NSPath; ns != "" {
		mode = structs.AddressModeAlloc
		c.Namespace, c.Dial = ns, netns.Dialer(ns, nil)
	}
	if def.Type != structs.CheckTypeScript {
		addr, p, err := in.Network.Address(mode, port)
		if err != nil {
			h.logger.Warn("check has no address to probe; it stays critical", "check", def.Name, "error", err)
		} else {
			c.Address = netJoin(addr, p)
		}
	}
	return c
}

// changed records a check's new status, saves it and queues the instance's
// health for the servers.
func (h *checksHook) changed(b *checks.Batcher, c checks.Change) {
	defer h.statusNotify.notify()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.statuses[c.Check.ID] = &structs.ServiceCheckStatus{
		ID: c.Check.ID, Name: c.Check.Def.Name, Type: c.Check.Def.Type, Status: c.Status,
		Output: c.Result.Output, Timestamp: c.Result.Time,
	}
	if err := h.saveLocked(); err != nil {
		h.logger.Warn("saving check statuses", "error", err)
	}
	regID, ci := h.instanceOf(c.Check.ID)
	if ci == nil {
		return
	}
	u := &structs.ServiceHealthUpdate{ID: regID}
	for _, id := range ci.checkIDs {
		if st := h.statuses[id]; st != nil {
			u.Checks = append(u.Checks, st)
		}
	}
	if len(u.Checks) == len(ci.checkIDs) { // until every check started, the registration's own statuses stand
		b.Put(ci.token, u)
	}
}

func (h *checksHook) instanceOf(checkID string) (string, *checkedInstance) {
	for regID, ci := range h.regs {
		for _, id := range ci.checkIDs {
			if id == checkID {
				return regID, ci
			}
		}
	}
	return "", nil
}

// saveLocked persists the statuses of the checks still known.
func (h *checksHook) saveLocked() error {
	b, err := json.Marshal(h.statuses)
	if err != nil {
		return err
	}
	return h.state.Save(b)
}

func loadCheckStatuses(b []byte) map[string]*structs.ServiceCheckStatus {
	out := map[string]*structs.ServiceCheckStatus{}
	if len(b) > 0 {
		_ = json.Unmarshal(b, &out) // a damaged blob only loses the head start
	}
	return out
}

// execFunc runs a script check through the task driver's exec, keeping
// at most checks.MaxOutput bytes of its output.
func (h *checksHook) execFunc() checks.ExecFunc {
	return func(ctx context.Context, task string, argv []string) ([]byte, int, error) {
		out := &cappedBuffer{max: checks.MaxOutput}
		res, err := h.exec(ctx, task, &drivers.ExecOptions{Command: argv, Stdout: out, Stderr: out})
		if err != nil {
			return out.Bytes(), 0, err
		}
		if res.Err != nil {
			return out.Bytes(), 0, res.Err
		}
		return out.Bytes(), res.ExitCode, nil
	}
}

// stop ends every check and waits; no status change is sent after it.
func (h *checksHook) stop() {
	h.mu.Lock()
	h.stopped = true
	runner, cancel, done := h.runner, h.cancel, h.done
	h.mu.Unlock()
	if runner == nil {
		return
	}
	cancel()
	runner.Stop()
	<-done
}

// PreKill stops checking before the services hooks (after this one)
// deregister: a task being stopped is not restarted by check_restart, and
// no status is reported for an instance on its way out.
func (h *checksHook) PreKill(context.Context, *PreKillRequest) { h.stop() }

// Postrun stops checking once every task is dead.
func (h *checksHook) Postrun(context.Context, *PostrunRequest) error {
	h.stop()
	return nil
}

// Destroy stops what may still run.
func (h *checksHook) Destroy(context.Context, *DestroyRequest) error {
	h.stop()
	return nil
}

// Shutdown stops the checks; the tasks run on and a restarted client
// checks them again, from the saved statuses.
func (h *checksHook) Shutdown() { h.stop() }

// CheckStatus is a check's latest reported status ("" before its first).
func (h *checksHook) CheckStatus(id string) structs.HealthStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	if st := h.statuses[id]; st != nil {
		return st.Status
	}
	return ""
}

// ChecksChanged returns a channel closed at the next status change.
func (h *checksHook) ChecksChanged() <-chan struct{} { return h.statusNotify.changed() }

// CheckStates are the allocation's checks with their latest results, for
// the allocation checks API.
func (ar *AllocRunner) CheckStates() []checks.State {
	for _, hook := range ar.hooks {
		if h, ok := hook.(*checksHook); ok {
			h.mu.Lock()
			r := h.runner
			h.mu.Unlock()
			if r != nil {
				return r.States()
			}
		}
	}
	return nil
}
