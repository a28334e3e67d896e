package taskrunner

import (
	"context"
	"fmt"
	"log/slog"

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
	// The log dir is in the shared alloc dir, which tasks write: it is
	// made, and its files created, through no symlink (logfile.OpenAppend).
	if err := logfile.MkdirAll(h.dir.LogDir, 0o777); err != nil {
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
		f, err := logfile.OpenAppend(h.dir.LogDir, logfile.Name(h.dir.Name, kind, 0))
		if err != nil {
			return fmt.Errorf("log file: %w", err)
		}
		f.Close()
	}
	return nil
}
