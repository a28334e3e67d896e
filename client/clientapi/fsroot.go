package clientapi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/client/allocdir"
)

// maxSymlinks bounds how many symlinks one path may go through (as the
// kernel's ELOOP limit does).
const maxSymlinks = 40

// allocFS reads one allocation directory and nothing outside it.
//
// Paths are relative to the allocation directory; a leading "/" names the
// directory itself (as in Nomad, whose default path is "/"), so no request
// can name a host path. resolve walks the path one component at a time with
// Lstat and Readlink on an os.Root, so that:
//   - ".." in the request is refused outright (400);
//   - a symlink is followed only when its target is relative and stays
//     inside the directory (else 403), up to maxSymlinks;
//   - every intermediate and final location is checked against the tasks'
//     secrets/ and private/ directories (403), so a symlink cannot reach
//     them either;
//   - a symlink loop, or a file where a directory is needed, is the
//     request's fault (400), not the agent's.
//
// open then takes the resolved path through the os.Root (which cannot
// leave the directory even if the tree changes meanwhile) as an O_PATH
// handle, checks that it is the very file resolve found and a regular file
// or a directory, and only then opens it for reading; a task swapping in a
// symlink between the two steps gets errChanged instead of the file it
// pointed at, and a device node, FIFO or socket is refused (400) without
// ever being opened.
type allocFS struct {
	root *os.Root
}

func openAllocFS(dir string) (*allocFS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open allocation directory: %w", err)
	}
	return &allocFS{root: root}, nil
}

func (a *allocFS) Close() error { return a.root.Close() }

// components splits a request path, refusing "..".
func components(p string) ([]string, error) {
	if strings.ContainsRune(p, 0) {
		return nil, badRequest("path contains a NUL byte")
	}
	var out []string
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".":
		case "..":
			return nil, errDotDot
		default:
			out = append(out, c)
		}
	}
	return out, nil
}

// private reports whether a resolved location is, or is inside, a task's
// secrets/ or private/ directory. Every second-level secrets/ and private/
// counts, alloc/ included: the shared directory has none of its own, and a
// task named "alloc" (refused at validation, but an allocation admitted by
// an older server may still run) would put its secrets exactly there.
//
// Names compare without case: on a case-insensitive file system (ext4's
// casefold directories, for one) "Secrets" is the same directory.
func private(comps []string) bool {
	return len(comps) >= 2 && (strings.EqualFold(comps[1], allocdir.TaskSecrets) || strings.EqualFold(comps[1], allocdir.TaskPrivate))
}

func joinRel(comps []string) string {
	if len(comps) == 0 {
		return "."
	}
	return path.Join(comps...)
}

// resolve returns the symlink-free relative path the request path names and
// the Lstat of what is there.
func (a *allocFS) resolve(p string) (string, fs.FileInfo, error) {
	todo, err := components(p)
	if err != nil {
		return "", nil, err
	}
	r := &resolution{afs: a, path: p, todo: todo}
	for len(r.todo) > 0 {
		if err := r.step(); err != nil {
			return "", nil, err
		}
	}
	rel := joinRel(r.done)
	fi, err := a.root.Lstat(rel)
	if err != nil {
		return "", nil, err
	}
	return rel, fi, nil
}

// resolution is one path being resolved: the components resolved so far
// (no symlinks among them) and those still to go.
type resolution struct {
	afs        *allocFS
	path       string
	done, todo []string
	links      int
}

// step resolves the next component: ".." from a symlink target goes up
// (never above the root), a symlink is replaced by its target's components,
// anything else is appended once checked.
func (r *resolution) step() error {
	c := r.todo[0]
	r.todo = r.todo[1:]
	switch c {
	case "", ".":
		return nil
	case "..": // only from symlink targets
		if len(r.done) == 0 {
			return errEscapes
		}
		r.done = r.done[:len(r.done)-1]
		return nil
	}
	next := append(append([]string(nil), r.done...), c)
	if private(next) {
		return errPrivate
	}
	fi, err := r.afs.root.Lstat(joinRel(next))
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return r.follow(joinRel(next))
	}
	if len(r.todo) > 0 && !fi.IsDir() {
		return &fs.PathError{Op: "resolve", Path: r.path, Err: syscall.ENOTDIR}
	}
	r.done = next
	return nil
}

// follow puts a relative symlink's target in front of what is left.
func (r *resolution) follow(link string) error {
	if r.links++; r.links > maxSymlinks {
		return &fs.PathError{Op: "resolve", Path: r.path, Err: syscall.ELOOP}
	}
	target, err := r.afs.root.Readlink(link)
	if err != nil {
		return err
	}
	if path.IsAbs(target) {
		return errEscapes
	}
	r.todo = append(strings.Split(target, "/"), r.todo...)
	return nil
}

// open opens a resolved path and checks it is still the file resolve saw.
//
// Only regular files and directories are ever opened. Opening is itself an
// action on a device node (the driver's open runs: a tape rewinds, a
// terminal may become ours) and on a FIFO (it waits for a writer: the
// request would hang), and a task can swap one in after resolve looked. So
// the file is first taken with O_PATH, which gives a handle on the inode
// without opening it; the handle is checked (same file as resolve saw, of a
// type the API serves) and only then reopened for reading through
// /proc/self/fd, which reaches that very inode whatever the path holds now.
func (a *allocFS) open(rel string, want fs.FileInfo) (*os.File, error) {
	if !servable(want) {
		return nil, errNotServable
	}
	h, err := a.root.OpenFile(rel, unix.O_PATH|unix.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, errChanged
	}
	defer h.Close()
	if err := sameServable(h, want); err != nil {
		return nil, err
	}
	return reopen(h, want)
}

// servable reports whether the API serves what fi describes.
func servable(fi fs.FileInfo) bool { return fi.Mode().IsRegular() || fi.IsDir() }

// sameServable checks that f is the file want describes and still servable.
func sameServable(f *os.File, want fs.FileInfo) error {
	got, err := f.Stat()
	// The type too: a file removed and replaced at once may get its inode
	// number back.
	if err != nil || !os.SameFile(got, want) || got.Mode().Type() != want.Mode().Type() {
		return errChanged
	}
	if !servable(got) {
		return errNotServable
	}
	return nil
}

// reopen opens the inode an O_PATH handle holds, for reading. O_NONBLOCK
// and O_NOCTTY are belts and braces: the inode was checked to be a regular
// file or a directory, and cannot change behind a file descriptor.
func reopen(h *os.File, want fs.FileInfo) (*os.File, error) {
	rc, err := h.SyscallConn()
	if err != nil {
		return nil, err
	}
	var fd uintptr
	if err := rc.Control(func(f uintptr) { fd = f }); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("reopen %s: %w", h.Name(), err)
	}
	if err := sameServable(f, want); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// openPath resolves and opens a request path.
func (a *allocFS) openPath(p string) (*os.File, string, fs.FileInfo, error) {
	rel, fi, err := a.resolve(p)
	if err != nil {
		return nil, "", nil, err
	}
	f, err := a.open(rel, fi)
	if err != nil {
		return nil, "", nil, err
	}
	return f, rel, fi, nil
}
