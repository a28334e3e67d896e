package taskrunner

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/roam-sh/roam/client/allocdir"
	"github.com/roam-sh/roam/internal/logfile"
)

// logsHook makes sure the task's log files exist before the task first
// starts, so `alloc logs` works before the first line is written. The
// executor writes them and rotates them per the logs block; after a restart
// it continues at the next index, so nothing is created when files exist
// (index 0 may long have been rotated away). With logging disabled nothing
// is created at all.
type logsHook struct {
	dir    *allocdir.TaskDir
	logger *slog.Logger
}

func newLogsHook(dir *allocdir.TaskDir, logger *slog.Logger) *logsHook {
	return &logsHook{dir: dir, logger: logger}
}

func (h *logsHook) Name() string { return "logs" }

func (h *logsHook) Prestart(_ context.Context, req *PrestartRequest, _ *PrestartResponse) error {
	if err := os.MkdirAll(h.dir.LogDir, 0o777); err != nil {
		return fmt.Errorf("log dir: %w", err)
	}
	if lc := req.Task.LogConfig; lc != nil && lc.Disabled {
		return nil
	}
	for _, kind := range []logfile.Kind{logfile.Stdout, logfile.Stderr} {
		idxs, err := logfile.Indexes(h.dir.LogDir, logfile.Base(h.dir.Name, kind))
		if err != nil {
			return err
		}
		if len(idxs) > 0 {
			continue
		}
		p := filepath.Join(h.dir.LogDir, logfile.Name(h.dir.Name, kind, 0))
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("log file: %w", err)
		}
		f.Close()
	}
	return nil
}
