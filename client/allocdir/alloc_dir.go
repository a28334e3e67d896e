package allocdir

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/roam-sh/roam/internal/confine"
)

// Names inside an allocation directory.
const (
	SharedAllocName = "alloc"
	SharedDataDir   = "data"
	LogDirName      = "logs"
	TmpDirName      = "tmp"
	TaskLocal       = "local"
	TaskSecrets     = "secrets"
	TaskPrivate     = "private"
)

// dirPerm is the mode of every directory in the tree: tasks may run as any
// user and must be able to write their own and the shared directories.
const dirPerm os.FileMode = 0o777

// privatePerm is the mode of every task's private/ dir: only the agent's
// user (root) enters it. roam keeps its control files there (the executor's
// spec and socket, the docker log collector's record of its process),
// which root processes read back and act on; a task running as any other
// user must not be able to replace them, or the dirs holding them.
const privatePerm os.FileMode = 0o700

// AllocDir is one allocation's directory.
type AllocDir struct {
	// Dir is <alloc_dir>/<allocID>.
	Dir string
	// SharedDir is Dir/alloc.
	SharedDir string
	logger    *slog.Logger

	mu       sync.Mutex
	taskDirs map[string]*TaskDir
}

// New describes the directory of allocID under root; nothing is created yet.
func New(root, allocID string, logger *slog.Logger) *AllocDir {
	dir := filepath.Join(root, allocID)
	return &AllocDir{
		Dir: dir, SharedDir: filepath.Join(dir, SharedAllocName),
		logger: logger.With("alloc_dir", dir), taskDirs: map[string]*TaskDir{},
	}
}

// LogDir is where the tasks' log files live.
func (d *AllocDir) LogDir() string { return filepath.Join(d.SharedDir, LogDirName) }

// Build creates the allocation dir and the shared alloc/ tree. It is safe to
// call again on an existing tree (after a client restart).
func (d *AllocDir) Build() error {
	if err := os.MkdirAll(d.Dir, dirPerm); err != nil {
		return fmt.Errorf("build alloc dir: %w", err)
	}
	for _, rel := range []string{
		".", SharedAllocName,
		filepath.Join(SharedAllocName, SharedDataDir),
		filepath.Join(SharedAllocName, LogDirName),
		filepath.Join(SharedAllocName, TmpDirName),
	} {
		if err := mkdir(d.Dir, rel, dirPerm); err != nil {
			return fmt.Errorf("build alloc dir: %w", err)
		}
	}
	return nil
}

// TaskDir returns the (possibly not yet built) directory of the named task.
func (d *AllocDir) TaskDir(name string) *TaskDir {
	d.mu.Lock()
	defer d.mu.Unlock()
	if td, ok := d.taskDirs[name]; ok {
		return td
	}
	td := newTaskDir(d, name)
	d.taskDirs[name] = td
	return td
}

// Destroy unmounts every task's tmpfs dirs and removes the whole tree. Task
// dirs are found on disk, so it also cleans up after an earlier process.
func (d *AllocDir) Destroy() error {
	entries, err := os.ReadDir(d.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("destroy alloc dir: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || e.Name() == SharedAllocName {
			continue
		}
		if err := d.TaskDir(e.Name()).Unmount(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// Never remove a tree that still has mounts in it: RemoveAll would
		// descend into them.
		return fmt.Errorf("destroy alloc dir: %w", errors.Join(errs...))
	}
	if err := os.RemoveAll(d.Dir); err != nil {
		return fmt.Errorf("destroy alloc dir: %w", err)
	}
	return nil
}

// mkdir creates rel beneath the allocation dir with perm whatever the
// umask, and sets the mode of an existing one. Tasks write alloc/ and their
// own dirs, and Build runs again over their work (task restarts, client
// restarts): a directory a task swapped for a symlink is refused, never
// followed (a chmod through alloc/data -> / would open the host's root to
// everyone).
func mkdir(allocDir, rel string, perm os.FileMode) error {
	f, err := confine.MkdirAll(allocDir, rel, perm, confine.NoSymlinks)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Chmod(perm)
}
