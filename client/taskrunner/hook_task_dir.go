package taskrunner

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/roam-sh/roam/client/allocdir"
	"github.com/roam-sh/roam/client/taskenv"
)

// taskDirHook builds the task's directory and tells the env builder where it
// is on the host.
type taskDirHook struct {
	dir    *allocdir.TaskDir
	env    *taskenv.Builder
	logger *slog.Logger
	built  bool
}

func newTaskDirHook(dir *allocdir.TaskDir, env *taskenv.Builder, logger *slog.Logger) *taskDirHook {
	h := &taskDirHook{dir: dir, env: env, logger: logger}
	// The paths are known before the dir exists; set them now so a restored
	// task's env (built without running Prestart again) is right too.
	env.SetHostDirs(taskenv.Dirs{SharedAllocDir: dir.SharedAllocDir, LocalDir: dir.LocalDir, SecretsDir: dir.SecretsDir})
	return h
}

func (h *taskDirHook) Name() string { return "task_dir" }

func (h *taskDirHook) Prestart(_ context.Context, _ *PrestartRequest, resp *PrestartResponse) error {
	if !h.built {
		resp.Events = append(resp.Events, eventSetup())
	}
	if err := h.dir.Build(); err != nil {
		return fmt.Errorf("build task dir: %w", err)
	}
	h.built = true
	return nil
}
