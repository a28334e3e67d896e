package allocrunner

import (
	"context"
	"log/slog"
	"time"
)

// shutdownDelayHook waits out the group's shutdown_delay before the tasks
// are killed, so that traffic can drain once the group's services are gone
// from the catalog (their deregistration runs before this hook). A stop with
// -no-shutdown-delay skips the wait.
type shutdownDelayHook struct {
	logger *slog.Logger
}

func newShutdownDelayHook(logger *slog.Logger) *shutdownDelayHook {
	return &shutdownDelayHook{logger: logger}
}

func (h *shutdownDelayHook) Name() string { return "shutdown_delay" }

// PreKill reads the latest allocation from the request: a stop with
// -no-shutdown-delay arrives as an update that also sets the desired status.
func (h *shutdownDelayHook) PreKill(ctx context.Context, req *PreKillRequest) {
	a := req.Alloc
	tg := a.LookupTaskGroup()
	if tg == nil || tg.ShutdownDelay == nil || *tg.ShutdownDelay <= 0 || a.DesiredTransition.ShouldIgnoreShutdownDelay() {
		return
	}
	delay := *tg.ShutdownDelay
	h.logger.Info("waiting for the group's shutdown_delay before killing tasks", "delay", delay)
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
