package docker

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/internal/confine"
)

// binding is the set of bind mounts made for one container start: each
// host path a job named inside the allocation dir, opened beneath it and
// bound, by its descriptor, at a path of dir. Docker is given those paths,
// which live in a directory only root can enter, so nothing a task does in
// the allocation dir between roam's open and Docker's mount can change what
// is mounted.
type binding struct {
	dir     string
	targets []string
}

// confineBinds replaces the job's bind sources that lie in the allocation
// dir by private bind mounts of what they name now, resolved beneath the
// allocation dir (confine.Beneath): a symlink a task planted that leads out
// of it, or through /proc, fails the start. Sources outside the allocation
// dir are left as they are: only an operator who enabled volumes lets a job
// name those. The caller releases the binding once the container started.
func (d *Driver) confineBinds(cfg *drivers.TaskConfig, spec *containerSpec) (*binding, error) {
	if len(spec.jobBinds)+len(spec.jobMounts) == 0 {
		return &binding{}, nil
	}
	if err := confine.PrivateDir(d.cfg.BindDir); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(d.cfg.BindDir, "task-")
	if err != nil {
		return nil, fmt.Errorf("bind dir: %w", err)
	}
	b := &binding{dir: dir}
	for _, i := range spec.jobBinds {
		host, rest, _ := strings.Cut(spec.host.Binds[i], ":")
		src, err := b.stage(cfg, host, true)
		if err != nil {
			b.release(d.logger)
			return nil, fmt.Errorf("volumes: %w", err)
		}
		spec.host.Binds[i] = src + ":" + rest
	}
	for _, i := range spec.jobMounts {
		src, err := b.stage(cfg, spec.host.Mounts[i].Source, false)
		if err != nil {
			b.release(d.logger)
			return nil, fmt.Errorf("mount: %w", err)
		}
		spec.host.Mounts[i].Source = src
	}
	return b, nil
}

// stage binds host, if it lies in the allocation dir, and returns the path
// to give Docker. A missing volume source is created as a directory, as
// Docker does for binds, but beneath the allocation dir.
func (b *binding) stage(cfg *drivers.TaskConfig, host string, create bool) (string, error) {
	rel, ok := confine.Rel(cfg.AllocDir, host)
	if !ok {
		return host, nil
	}
	f, err := confine.Open(cfg.AllocDir, rel, confine.Beneath)
	if create && errors.Is(err, fs.ErrNotExist) {
		f, err = confine.MkdirAll(cfg.AllocDir, rel, 0o755, confine.Beneath)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", rel, err)
	}
	defer f.Close()
	if err := notPrivate(cfg, f); err != nil {
		return "", fmt.Errorf("%s: %w", rel, err)
	}
	target, err := confine.Bind(f, b.dir, strconv.Itoa(len(b.targets)))
	if err != nil {
		return "", fmt.Errorf("%s: %w (binding a path of the allocation needs the client to run as root)", rel, err)
	}
	b.targets = append(b.targets, target)
	return target, nil
}

// errPrivate is the error for a bind source in a task's private dir.
var errPrivate = errors.New("a task's private dir holds roam's own files (the executor's spec, the log collector's state) and is never mounted")

// notPrivate refuses an opened bind source that lies in any task's private
// dir: roam's control files, which root processes read back, live there.
// Where it lies is the kernel's word (the descriptor's path), whatever
// links led there.
func notPrivate(cfg *drivers.TaskConfig, f *os.File) error {
	where, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		return err
	}
	rel, ok := confine.Rel(cfg.AllocDir, where)
	if !ok {
		return fmt.Errorf("resolves to %s: %w", where, confine.ErrEscapes)
	}
	parts := strings.Split(rel, "/")
	if len(parts) >= 2 && parts[1] == privateName(cfg) {
		return errPrivate
	}
	// Another task's secrets/ holds its tokens and rendered secrets; a
	// task's own is mounted at /secrets already.
	if len(parts) >= 2 && parts[1] == secretsName(cfg) && parts[0] != filepath.Base(cfg.TaskDir.Dir) {
		return errSecrets
	}
	return nil
}

// errSecrets is the error for a bind source in another task's secrets dir.
var errSecrets = errors.New("another task's secrets dir is never mounted")

// secretsName is the name of the secrets dir in every task dir.
func secretsName(cfg *drivers.TaskConfig) string {
	if cfg.TaskDir.SecretsDir != "" {
		return filepath.Base(cfg.TaskDir.SecretsDir)
	}
	return "secrets"
}

// privateName is the name of the private dir in every task dir.
func privateName(cfg *drivers.TaskConfig) string {
	if cfg.TaskDir.PrivateDir != "" {
		return filepath.Base(cfg.TaskDir.PrivateDir)
	}
	return "private"
}

// release unmounts the binding's mounts. The container keeps its own
// copies: its mount namespace was made when it started.
func (b *binding) release(logger *slog.Logger) {
	if b.dir == "" {
		return
	}
	for _, t := range b.targets {
		if err := confine.Unbind(t); err != nil {
			logger.Warn("releasing a bind mount", "path", t, "error", err)
		}
	}
	if err := os.Remove(b.dir); err != nil {
		logger.Warn("removing the bind dir", "path", b.dir, "error", err)
	}
}

// sweepBinds releases the bind mounts a client that died mid-start left in
// dir (they are made and released within one StartTask, so any found when
// the driver starts are leftovers).
func sweepBinds(dir string, logger *slog.Logger) {
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return // none yet
	}
	for _, t := range tasks {
		p := filepath.Join(dir, t.Name())
		entries, _ := os.ReadDir(p)
		b := &binding{dir: p}
		for _, e := range entries {
			b.targets = append(b.targets, filepath.Join(p, e.Name()))
		}
		b.release(logger)
	}
}
