package taskrunner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/client/allocdir"
	"github.com/roam-sh/roam/internal/confine"
	"github.com/roam-sh/roam/structs"
)

// dispatchPayloadHook writes a dispatched job's payload to the file the
// task's dispatch_payload block names, relative to local/, before every
// start. The path comes from the job, and a task may plant symlinks in its
// own directories, so it is resolved beneath the allocation directory by
// internal/confine (as template destinations are): a link cannot make the
// client, running as root, write elsewhere on the host. The write is atomic:
// the task never reads half a payload.
type dispatchPayloadHook struct {
	allocDir string
	logger   *slog.Logger
}

func newDispatchPayloadHook(allocDir string, logger *slog.Logger) *dispatchPayloadHook {
	return &dispatchPayloadHook{allocDir: allocDir, logger: logger}
}

func (h *dispatchPayloadHook) Name() string { return "dispatch_payload" }

func (h *dispatchPayloadHook) Prestart(_ context.Context, req *PrestartRequest, _ *PrestartResponse) error {
	dp := req.Task.DispatchPayload
	if dp == nil || dp.File == "" || req.Alloc.Job == nil || !req.Alloc.Job.Dispatched {
		return nil
	}
	abs := filepath.Join(req.TaskDir.LocalDir, dp.File)
	rel, ok := confine.Rel(h.allocDir, abs)
	if !ok || rel == "." {
		return fmt.Errorf("dispatch_payload file %q leaves the allocation directory", dp.File)
	}
	if structs.AgentOwnedPath(filepath.ToSlash(rel)) {
		return errors.New(structs.AgentOwnedProblem("dispatch_payload file", dp.File))
	}
	if err := writeConfined(h.allocDir, rel, req.Alloc.Job.Payload, 0o644); err != nil {
		return fmt.Errorf("write dispatch payload to %s: %w", filepath.Join(allocdir.TaskLocal, dp.File), err)
	}
	h.logger.Debug("wrote dispatch payload", "file", dp.File, "bytes", len(req.Alloc.Job.Payload))
	return nil
}

// writeConfined writes content to rel beneath root (the allocation
// directory): its directory made (or opened) beneath root and refused if
// the kernel resolved it into a task's private/ folder (a link the task
// planted), the file written under a temporary name and renamed into
// place.
func writeConfined(root, rel string, content []byte, perm os.FileMode) error {
	dir, err := confine.MkdirAll(root, filepath.Dir(rel), 0o755, confine.Beneath)
	if err != nil {
		return err
	}
	defer dir.Close()
	base := filepath.Base(rel)
	if err := confine.NotAgentOwned(root, dir, base); err != nil {
		return err
	}
	tmp := "." + base + ".roam-tmp"
	_ = unix.Unlinkat(int(dir.Fd()), tmp, 0) // left by a client that died mid-write
	fh, err := confine.OpenAt(dir, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, uint32(perm), confine.Beneath)
	if err != nil {
		return err
	}
	_, werr := fh.Write(content)
	err = errors.Join(werr, fh.Chmod(perm), fh.Close())
	if err == nil {
		err = unix.Renameat(int(dir.Fd()), tmp, int(dir.Fd()), base)
	}
	if err != nil {
		_ = unix.Unlinkat(int(dir.Fd()), tmp, 0)
	}
	return err
}
