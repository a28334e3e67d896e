package allocrunner

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/roam-sh/roam/client/allocdir"
)

// allocDirHook builds the shared allocation directory and removes the whole
// tree (task dirs and their mounts included) when the allocation is destroyed.
type allocDirHook struct {
	dir    *allocdir.AllocDir
	logger *slog.Logger
}

func newAllocDirHook(dir *allocdir.AllocDir, logger *slog.Logger) *allocDirHook {
	return &allocDirHook{dir: dir, logger: logger}
}

func (h *allocDirHook) Name() string { return "alloc_dir" }

func (h *allocDirHook) Prerun(context.Context, *PrerunRequest, *PrerunResponse) error {
	if err := h.dir.Build(); err != nil {
		return fmt.Errorf("alloc dir: %w", err)
	}
	return nil
}

func (h *allocDirHook) Destroy(context.Context, *DestroyRequest) error {
	if err := h.dir.Destroy(); err != nil {
		return fmt.Errorf("alloc dir: %w", err)
	}
	return nil
}
