package allocrunner

import (
	"context"
	"fmt"
	"slices"

	"github.com/roam-sh/roam/client/taskenv"
	"github.com/roam-sh/roam/client/taskrunner"
)

// The runners of each hook stage. Stages are serialised by hookMu; stages of
// a live allocation get the runner's context, stages of stopping it the
// teardown context (hooks.go says why). Every request is built by
// hookRequest, so each stage sees the same things.

// hookRequest is what hook h sees now. Called with hookMu held.
func (ar *AllocRunner) hookRequest(h RunnerHook) HookRequest {
	return HookRequest{
		Alloc: ar.currentAlloc(), Env: ar.allocEnv(), Network: ar.network,
		Lifecycle: taskLifecycle{ar}, State: ar.hookStates.For(h.Name()),
	}
}

// allocEnv is the allocation's environment for interpolating service names
// and tags: the latest allocation, with the group network's address once
// the network hook set it up. Called with hookMu held.
func (ar *AllocRunner) allocEnv() *taskenv.TaskEnv {
	ar.envBuilder.UpdateAlloc(ar.currentAlloc(), nil)
	if ar.network != nil {
		ar.envBuilder.SetNetworkStatus(ar.network.Status)
	}
	return ar.envBuilder.Build()
}

func (ar *AllocRunner) prerun() error {
	ar.hookMu.Lock()
	defer ar.hookMu.Unlock()
	for _, h := range ar.hooks {
		p, ok := h.(Prerunner)
		if !ok {
			continue
		}
		var resp PrerunResponse
		if err := p.Prerun(ar.ctx, &PrerunRequest{ar.hookRequest(h)}, &resp); err != nil {
			return fmt.Errorf("alloc %s: prerun %s: %w", ar.id, h.Name(), err)
		}
		if resp.Network != nil {
			ar.network = resp.Network
		}
	}
	return nil
}

// running runs the Running hooks (handleRunning calls it once).
func (ar *AllocRunner) running() {
	ar.eachHook(func(h RunnerHook) error {
		if r, ok := h.(Runninger); ok {
			return r.Running(ar.ctx, &RunningRequest{ar.hookRequest(h)})
		}
		return nil
	}, "running", false)
}

func (ar *AllocRunner) postrun() {
	ar.eachHook(func(h RunnerHook) error {
		if p, ok := h.(Postrunner); ok {
			return p.Postrun(ar.teardownCtx, &PostrunRequest{ar.hookRequest(h)})
		}
		return nil
	}, "postrun", false)
}

func (ar *AllocRunner) runUpdateHooks() {
	ar.eachHook(func(h RunnerHook) error {
		if u, ok := h.(Updater); ok {
			return u.Update(ar.ctx, &UpdateRequest{ar.hookRequest(h)})
		}
		return nil
	}, "update", false)
}

// preKill runs the pre-kill hooks; a client shutdown cuts their waits
// (shutdown_delay) short, leaving the tasks to the next client process.
func (ar *AllocRunner) preKill() {
	ar.eachHook(func(h RunnerHook) error {
		if p, ok := h.(PreKiller); ok {
			p.PreKill(ar.teardownCtx, &PreKillRequest{ar.hookRequest(h)})
		}
		return nil
	}, "prekill", false)
}

// runDestroyHooks runs Destroy in reverse hook order.
func (ar *AllocRunner) runDestroyHooks() {
	ar.eachHook(func(h RunnerHook) error {
		if d, ok := h.(Destroyer); ok {
			return d.Destroy(ar.teardownCtx, &DestroyRequest{ar.hookRequest(h)})
		}
		return nil
	}, "destroy", true)
}

// eachHook runs fn over the hooks (backward: in reverse order); errors are
// logged, never fatal, because these stages run when the allocation's fate
// is already decided.
func (ar *AllocRunner) eachHook(fn func(RunnerHook) error, stage string, backward bool) {
	ar.hookMu.Lock()
	defer ar.hookMu.Unlock()
	hooks := ar.hooks
	if backward {
		hooks = slices.Clone(hooks)
		slices.Reverse(hooks)
	}
	for _, h := range hooks {
		if err := fn(h); err != nil {
			ar.logger.Error("hook failed", "stage", stage, "hook", h.Name(), "error", err)
		}
	}
}

// runNetworkMovers tells the NetworkMovers that the namespace is now
// ar.network and returns the tasks they want restarted. Called with hookMu
// held.
func (ar *AllocRunner) runNetworkMovers(ctx context.Context, recovering bool) []string {
	var rejoin []string
	for _, h := range ar.hooks {
		m, ok := h.(NetworkMover)
		if !ok {
			continue
		}
		var resp NetworkMovedResponse
		req := &NetworkMovedRequest{HookRequest: ar.hookRequest(h), Recovering: recovering}
		if err := m.NetworkMoved(ctx, req, &resp); err != nil {
			ar.logger.Error("namespace moved: hook failed", "hook", h.Name(), "error", err)
			continue
		}
		for _, name := range resp.Rejoin {
			if !slices.Contains(rejoin, name) {
				rejoin = append(rejoin, name)
			}
		}
	}
	return rejoin
}

// rejoinRecovered: when Prerun of a restored runner found the group's
// namespace made anew (a host reboot, a Docker restart while no client
// ran), the tasks the movers name restart as soon as they are re-attached.
func (ar *AllocRunner) rejoinRecovered() {
	ar.hookMu.Lock()
	defer ar.hookMu.Unlock()
	if ar.network == nil || !ar.network.Replaced() {
		return
	}
	for _, name := range ar.runNetworkMovers(ar.ctx, true) {
		if tr := ar.runners[name]; tr != nil {
			tr.RestartAfterRecover(taskrunner.NewRestartEvent(ReasonNetworkMoved))
		}
	}
}
