package confine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Rule is how a path is resolved beneath its root: a set of openat2
// RESOLVE_* flags.
type Rule uint64

// The rules in use. Each refuses /proc magic links (/proc/self/root,
// /proc/<pid>/fd/N), which jump anywhere on the host whatever the root.
const (
	// Beneath refuses any path that leaves the root: "..", absolute
	// symlinks and symlinks that climb out are errors. For paths a job
	// names inside the allocation directory.
	Beneath = Rule(unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS)
	// InRoot resolves as if the root were "/": absolute symlinks and ".."
	// stay inside it. For paths inside a task's own root, where the task's
	// absolute symlinks are legitimate.
	InRoot = Rule(unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS)
	// NoSymlinks is Beneath that follows no symlink at all. For directories
	// roam builds itself (the allocation tree, the logs), where a symlink
	// can only have been planted by a task.
	NoSymlinks = Beneath | Rule(unix.RESOLVE_NO_SYMLINKS)
)

// ErrEscapes is the error for a path whose resolution would leave its root.
var ErrEscapes = errors.New("path leads out of its root")

// retries bounds the retries of openat2 when the kernel reports a rename or
// mount racing the resolution (EAGAIN).
const retries = 16

// Open opens rel beneath the directory root as an O_PATH descriptor: enough
// to fstat it, bind it, or open it again through OpenFile, and it never
// blocks on a FIFO or touches a device.
func Open(root, rel string, rule Rule) (*os.File, error) {
	return OpenFile(root, rel, unix.O_PATH, 0, rule)
}

// OpenFile opens rel beneath the directory root with the open(2) flags and
// mode, resolved by rule. rel must be relative; "" and "." name root itself.
func OpenFile(root, rel string, flags int, mode uint32, rule Rule) (*os.File, error) {
	dir, err := openRoot(root)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	return OpenAt(dir, rel, flags, mode, rule)
}

// OpenAt is OpenFile beneath an already open directory.
func OpenAt(dir *os.File, rel string, flags int, mode uint32, rule Rule) (*os.File, error) {
	clean, err := relPath(rel)
	if err != nil {
		return nil, err
	}
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Mode: uint64(mode), Resolve: uint64(rule)}
	if flags&(unix.O_CREAT|unix.O_TMPFILE) == 0 {
		how.Mode = 0 // openat2 refuses a mode without O_CREAT
	}
	for range retries {
		fd, err := unix.Openat2(int(dir.Fd()), clean, &how)
		if errors.Is(err, unix.ENOSYS) {
			fd, err = walk(dir, clean, flags, mode, rule) // Linux before 5.6
		}
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, pathError("open", dir.Name(), clean, err)
		}
		return os.NewFile(uintptr(fd), filepath.Join(dir.Name(), clean)), nil
	}
	return nil, pathError("open", dir.Name(), clean, unix.EAGAIN)
}

// MkdirAll creates rel and its missing parents beneath root with perm (the
// umask aside: each directory it creates is chmod'ed to perm through its
// descriptor) and returns the directory, open for reading. Existing
// directories are kept as they are.
func MkdirAll(root, rel string, perm os.FileMode, rule Rule) (*os.File, error) {
	dir, err := openRoot(root)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	clean, err := relPath(rel)
	if err != nil {
		return nil, err
	}
	cur, err := OpenAt(dir, ".", unix.O_DIRECTORY|unix.O_RDONLY, 0, rule)
	if err != nil {
		return nil, err
	}
	prefix := ""
	for _, name := range components(clean) {
		prefix = filepath.Join(prefix, name)
		next, err := mkdirStep(dir, cur, name, prefix, perm, rule)
		cur.Close()
		if err != nil {
			return nil, err
		}
		cur = next
	}
	return cur, nil
}

// mkdirStep makes name in parent (mkdirat never follows a symlink in its
// last component) and opens it again by its path from the root, so the rule
// judges any symlink found there.
func mkdirStep(root, parent *os.File, name, prefix string, perm os.FileMode, rule Rule) (*os.File, error) {
	made := true
	if err := unix.Mkdirat(int(parent.Fd()), name, uint32(perm.Perm())); errors.Is(err, unix.EEXIST) {
		made = false
	} else if err != nil {
		return nil, pathError("mkdir", root.Name(), prefix, err)
	}
	next, err := OpenAt(root, prefix, unix.O_DIRECTORY|unix.O_RDONLY, 0, rule)
	if err != nil {
		return nil, err
	}
	if made {
		if err := next.Chmod(perm); err != nil {
			next.Close()
			return nil, fmt.Errorf("mkdir %s: %w", next.Name(), err)
		}
	}
	return next, nil
}

// openRoot opens the root directory itself. The root is the caller's (an
// allocation dir, a task dir) and is trusted as named.
func openRoot(root string) (*os.File, error) {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open root", Path: root, Err: err}
	}
	return os.NewFile(uintptr(fd), root), nil
}

// relPath cleans rel and refuses absolute paths and leading "..": callers
// hand in paths relative to their root, and an escape is caught here before
// the kernel would refuse it.
func relPath(rel string) (string, error) {
	if rel == "" {
		return ".", nil
	}
	if filepath.IsAbs(rel) {
		return "", fmt.Errorf("%q: %w: not a relative path", rel, ErrEscapes)
	}
	clean := filepath.Clean(rel)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("%q: %w", rel, ErrEscapes)
	}
	return clean, nil
}

func components(clean string) []string {
	if clean == "." {
		return nil
	}
	return strings.Split(clean, "/")
}

// pathError wraps an openat2 failure, naming an escape (EXDEV) or a refused
// symlink (ELOOP) as ErrEscapes so callers can tell them from a missing file.
func pathError(op, root, rel string, err error) error {
	p := filepath.Join(root, rel)
	switch {
	case errors.Is(err, unix.EXDEV):
		return fmt.Errorf("%s %s: %w", op, p, ErrEscapes)
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("%s %s: %w (a symlink where none may be, or a loop)", op, p, ErrEscapes)
	}
	return &os.PathError{Op: op, Path: p, Err: err}
}

// Rel is p relative to root when p lies lexically inside root, with ok
// false when it does not. It says which root a job's path belongs to; it
// never vouches for what the path resolves to.
func Rel(root, p string) (rel string, ok bool) {
	r, err := filepath.Rel(root, p)
	if err != nil || r == ".." || strings.HasPrefix(r, "../") || filepath.IsAbs(r) {
		return "", false
	}
	return r, true
}
