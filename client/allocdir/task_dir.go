package allocdir

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/internal/confine"
)

// tmpfsSizeBytes is the size of the secrets and private tmpfs mounts.
const tmpfsSizeBytes = 1 << 20

// TaskDir is one task's directory inside an allocation.
type TaskDir struct {
	Name           string
	Dir            string
	SharedAllocDir string
	LogDir         string
	LocalDir       string
	SecretsDir     string
	PrivateDir     string
	TmpDir         string
	// allocDir is the root every path of the task dir is made beneath.
	allocDir string
	logger   *slog.Logger
}

func newTaskDir(d *AllocDir, name string) *TaskDir {
	dir := filepath.Join(d.Dir, name)
	return &TaskDir{
		Name: name, Dir: dir, SharedAllocDir: d.SharedDir, LogDir: d.LogDir(),
		LocalDir:   filepath.Join(dir, TaskLocal),
		SecretsDir: filepath.Join(dir, TaskSecrets),
		PrivateDir: filepath.Join(dir, TaskPrivate),
		TmpDir:     filepath.Join(dir, TmpDirName),
		allocDir:   d.Dir,
		logger:     d.logger.With("task", name),
	}
}

// Build creates the task's directories and mounts its tmpfs dirs. It is
// idempotent: existing directories and mounts are kept.
func (t *TaskDir) Build() error {
	for _, p := range []string{t.Dir, t.LocalDir, t.TmpDir, t.SecretsDir, t.PrivateDir} {
		if err := mkdir(t.allocDir, t.rel(p), t.perm(p)); err != nil {
			return fmt.Errorf("build task dir %s: %w", t.Name, err)
		}
	}
	for _, p := range []string{t.SecretsDir, t.PrivateDir} {
		if err := t.mountTmpfs(p, t.perm(p)); err != nil {
			return fmt.Errorf("build task dir %s: %w", t.Name, err)
		}
	}
	return nil
}

// perm is the mode of p, one of the task's dirs. Build sets it again on a
// tree an earlier version made (private/ was 0777, tmpfs root included).
func (t *TaskDir) perm(p string) os.FileMode {
	if p == t.PrivateDir {
		return privatePerm
	}
	return dirPerm
}

// rel is p (one of the task's dirs) relative to the allocation dir.
func (t *TaskDir) rel(p string) string {
	r, _ := filepath.Rel(t.allocDir, p)
	return r
}

func (t *TaskDir) mountTmpfs(p string, perm os.FileMode) error {
	if mounted, err := isMountPoint(p); err != nil || mounted {
		return err
	}
	if os.Geteuid() != 0 {
		t.logger.Warn("not root: secrets are a plain directory, not tmpfs", "path", p)
		return nil
	}
	// Mounted on the directory opened through no symlink: the task may
	// have replaced p since Build made it.
	dir, err := confine.Open(t.allocDir, t.rel(p), confine.NoSymlinks)
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := mountTmpfs(fmt.Sprintf("/proc/self/fd/%d", dir.Fd()), tmpfsSizeBytes, perm); err != nil {
		t.logger.Warn("cannot mount tmpfs: using a plain directory", "path", p, "error", err)
	}
	return nil
}

// Unmount removes the task's tmpfs mounts, if any.
func (t *TaskDir) Unmount() error {
	var errs []error
	for _, p := range []string{t.SecretsDir, t.PrivateDir} {
		if err := unmountIfMounted(p); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// DriverTaskDir is the view of the task dir handed to drivers.
func (t *TaskDir) DriverTaskDir() drivers.TaskDir {
	return drivers.TaskDir{
		Dir: t.Dir, SharedAllocDir: t.SharedAllocDir, LocalDir: t.LocalDir, SecretsDir: t.SecretsDir,
		PrivateDir: t.PrivateDir, TmpDir: t.TmpDir, LogDir: t.LogDir,
	}
}

// StdoutPath and StderrPath are the task's first log files; rotation (later)
// moves on to .1, .2 and so on.
func (t *TaskDir) StdoutPath() string { return filepath.Join(t.LogDir, t.Name+".stdout.0") }

// StderrPath is the task's first stderr log file.
func (t *TaskDir) StderrPath() string { return filepath.Join(t.LogDir, t.Name+".stderr.0") }
