package taskrunner

import (
	"context"
	"fmt"

	"github.com/roam-sh/roam/drivers"
)

// The runners of each hook stage. Stages are serialised by hookMu; each hook
// gets a context that ends if the runner is shut down.

func (tr *TaskRunner) hookCtx() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-tr.shutdownCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

func (tr *TaskRunner) prestart() error {
	tr.hookMu.Lock()
	defer tr.hookMu.Unlock()
	ctx, cancel := tr.hookCtx()
	defer cancel()
	for _, h := range tr.hooks {
		p, ok := h.(Prestarter)
		if !ok {
			continue
		}
		req := &PrestartRequest{Alloc: tr.currentAlloc(), Task: tr.currentTask(), TaskDir: tr.taskDir, TaskEnv: tr.envBuilder.Build()}
		var resp PrestartResponse
		err := p.Prestart(ctx, req, &resp)
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
	tr.eachHook(func(ctx context.Context, h TaskHook) error {
		if p, ok := h.(Poststarter); ok {
			return p.Poststart(ctx, &PoststartRequest{Task: tr.currentTask(), TaskEnv: tr.envBuilder.Build(), Handle: handle})
		}
		return nil
	}, "poststart")
}

func (tr *TaskRunner) runExited(res *drivers.ExitResult) {
	tr.eachHook(func(ctx context.Context, h TaskHook) error {
		if p, ok := h.(Exiter); ok {
			return p.Exited(ctx, &ExitedRequest{Task: tr.currentTask(), Result: res})
		}
		return nil
	}, "exited")
}

func (tr *TaskRunner) runPreKill() {
	tr.eachHook(func(ctx context.Context, h TaskHook) error {
		if p, ok := h.(PreKiller); ok {
			return p.PreKilling(ctx, &PreKillRequest{Task: tr.currentTask()})
		}
		return nil
	}, "prekill")
}

func (tr *TaskRunner) runStop() {
	tr.eachHook(func(ctx context.Context, h TaskHook) error {
		if p, ok := h.(Stopper); ok {
			return p.Stop(ctx, &StopRequest{Task: tr.currentTask()})
		}
		return nil
	}, "stop")
}

func (tr *TaskRunner) runUpdate() {
	tr.eachHook(func(ctx context.Context, h TaskHook) error {
		if p, ok := h.(Updater); ok {
			return p.Update(ctx, &UpdateRequest{Alloc: tr.currentAlloc(), Task: tr.currentTask(), TaskEnv: tr.envBuilder.Build()})
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

// eachHook runs fn over the hooks; errors are logged, never fatal, because
// these stages run when the task's fate is already decided.
func (tr *TaskRunner) eachHook(fn func(context.Context, TaskHook) error, stage string) {
	tr.hookMu.Lock()
	defer tr.hookMu.Unlock()
	ctx, cancel := tr.hookCtx()
	defer cancel()
	for _, h := range tr.hooks {
		if err := fn(ctx, h); err != nil {
			tr.logger.Error("hook failed", "stage", stage, "hook", h.Name(), "error", err)
		}
	}
}
