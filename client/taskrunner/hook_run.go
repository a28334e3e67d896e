package taskrunner

import (
	"context"
	"fmt"

	"github.com/roam-sh/roam/drivers"
)

// The runners of each hook stage. Stages are serialised by hookMu. Stages of
// a live task get the runner's context, stages of stopping it the teardown
// context (hooks.go says why).

func (tr *TaskRunner) prestart() error {
	tr.hookMu.Lock()
	defer tr.hookMu.Unlock()
	for _, h := range tr.hooks {
		p, ok := h.(Prestarter)
		if !ok {
			continue
		}
		req := &PrestartRequest{
			Alloc: tr.currentAlloc(), Task: tr.currentTask(), TaskDir: tr.taskDir, TaskEnv: tr.envBuilder.Build(),
			Lifecycle: tr, State: tr.hookStates.For(h.Name()),
		}
		var resp PrestartResponse
		err := p.Prestart(tr.ctx, req, &resp)
		if len(resp.Events) > 0 {
			tr.appendEvent(resp.Events...)
		}
		if err != nil {
			return fmt.Errorf("prestart %s: %w", h.Name(), err)
		}
		if resp.Env != nil {
			tr.envBuilder.SetHookEnv(h.Name(), resp.Env)
		}
	}
	return nil
}

func (tr *TaskRunner) poststart(handle *drivers.TaskHandle) {
	tr.eachHook(tr.ctx, func(ctx context.Context, h TaskHook) error {
		if p, ok := h.(Poststarter); ok {
			return p.Poststart(ctx, &PoststartRequest{
				Task: tr.currentTask(), TaskEnv: tr.envBuilder.Build(), Handle: handle,
				Lifecycle: tr, State: tr.hookStates.For(h.Name()),
			})
		}
		return nil
	}, "poststart")
}

// reattached runs the Reattached stage after a re-attachment.
func (tr *TaskRunner) reattached() {
	tr.eachHook(tr.ctx, func(ctx context.Context, h TaskHook) error {
		if p, ok := h.(Reattacher); ok {
			return p.Reattached(ctx, &ReattachRequest{
				Alloc: tr.currentAlloc(), Task: tr.currentTask(), TaskDir: tr.taskDir, TaskEnv: tr.envBuilder.Build(),
				Lifecycle: tr, State: tr.hookStates.For(h.Name()),
			})
		}
		return nil
	}, "reattached")
}

func (tr *TaskRunner) runExited(res *drivers.ExitResult) {
	tr.eachHook(tr.teardownCtx, func(ctx context.Context, h TaskHook) error {
		if p, ok := h.(Exiter); ok {
			return p.Exited(ctx, &ExitedRequest{
				Task: tr.currentTask(), Result: res, Lifecycle: tr, State: tr.hookStates.For(h.Name()),
			})
		}
		return nil
	}, "exited")
}

func (tr *TaskRunner) runPreKill() {
	tr.eachHook(tr.teardownCtx, func(ctx context.Context, h TaskHook) error {
		if p, ok := h.(PreKiller); ok {
			return p.PreKilling(ctx, &PreKillRequest{Task: tr.currentTask(), Lifecycle: tr, State: tr.hookStates.For(h.Name())})
		}
		return nil
	}, "prekill")
}

func (tr *TaskRunner) runStop() {
	tr.eachHook(tr.teardownCtx, func(ctx context.Context, h TaskHook) error {
		if p, ok := h.(Stopper); ok {
			return p.Stop(ctx, &StopRequest{Task: tr.currentTask(), Lifecycle: tr, State: tr.hookStates.For(h.Name())})
		}
		return nil
	}, "stop")
}

func (tr *TaskRunner) runUpdate() {
	tr.eachHook(tr.ctx, func(ctx context.Context, h TaskHook) error {
		if p, ok := h.(Updater); ok {
			return p.Update(ctx, &UpdateRequest{
				Alloc: tr.currentAlloc(), Task: tr.currentTask(), TaskEnv: tr.envBuilder.Build(),
				Lifecycle: tr, State: tr.hookStates.For(h.Name()),
			})
		}
		return nil
	}, "update")
}

func (tr *TaskRunner) runShutdownHooks() {
	tr.hookMu.Lock()
	defer tr.hookMu.Unlock()
	for _, h := range tr.hooks {
		if p, ok := h.(ShutdownHook); ok {
			p.Shutdown()
		}
	}
}

// eachHook runs fn over the hooks with ctx; errors are logged, never fatal,
// because these stages run when the task's fate is already decided.
func (tr *TaskRunner) eachHook(ctx context.Context, fn func(context.Context, TaskHook) error, stage string) {
	tr.hookMu.Lock()
	defer tr.hookMu.Unlock()
	for _, h := range tr.hooks {
		if err := fn(ctx, h); err != nil {
			tr.logger.Error("hook failed", "stage", stage, "hook", h.Name(), "error", err)
		}
	}
}
