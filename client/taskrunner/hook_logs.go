package taskrunner

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/roam-sh/roam/client/allocdir"
)

// logsHook makes sure the task's log files exist before the task starts, so
// `alloc logs` works even before the first line is written. The executor
// writes them; rotation per the logs block will live there too.
type logsHook struct {
	dir    *allocdir.TaskDir
	logger *slog.Logger
}

func newLogsHook(dir *allocdir.TaskDir, logger *slog.Logger) *logsHook {
	return &logsHook{dir: dir, logger: logger}
}

func (h *logsHook) Name() string { return "logs" }

func (h *logsHook) Prestart(context.Context, *PrestartRequest, *PrestartResponse) error {
	if err := os.MkdirAll(h.dir.LogDir, 0o777); err != nil {
		return fmt.Errorf("log dir: %w", err)
	}
	for _, p := range []string{h.dir.StdoutPath(), h.dir.StderrPath()} {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("log file: %w", err)
		}
		f.Close()
	}
	return nil
}
