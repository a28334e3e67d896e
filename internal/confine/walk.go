package confine

import (
	"errors"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// maxLinks bounds the symlinks one resolution follows, as the kernel does.
const maxLinks = 40

// walk resolves rel beneath dir in user space, for kernels without openat2
// (before Linux 5.6), with the same answers as the kernel's rules. Each step
// opens one component with O_NOFOLLOW relative to a descriptor it holds;
// ".." pops a held descriptor instead of asking the kernel (so a directory
// moved out of the root meanwhile leads nowhere); a symlink is read as text
// and resolved by the rule: NoSymlinks refuses it, Beneath refuses absolute
// targets and climbing above the root, InRoot restarts an absolute target at
// the root and stops ".." there. /proc magic links are only ever read as
// text, never jumped through. It returns a descriptor the caller owns.
func walk(dir *os.File, rel string, flags int, mode uint32, rule Rule) (int, error) {
	root, err := unix.Dup(int(dir.Fd()))
	if err != nil {
		return -1, err
	}
	w := &walker{stack: []int{root}, rule: rule}
	defer w.close()
	todo := strings.Split(rel, "/")
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		if name == "" || name == "." {
			if len(todo) == 0 {
				return unix.Openat(w.top(), ".", flags|unix.O_CLOEXEC, mode)
			}
			continue
		}
		if name == ".." {
			if err := w.up(); err != nil {
				return -1, err
			}
			if len(todo) == 0 {
				return unix.Openat(w.top(), ".", flags|unix.O_CLOEXEC, mode)
			}
			continue
		}
		fd, target, err := w.step(name, len(todo) == 0, flags, mode)
		switch {
		case err != nil:
			return -1, err
		case target != "":
			if todo, err = w.follow(target, todo); err != nil {
				return -1, err
			}
		case len(todo) == 0:
			return fd, nil
		default:
			w.stack = append(w.stack, fd)
		}
	}
	return -1, unix.ENOENT
}

type walker struct {
	stack []int // stack[0] is the root
	rule  Rule
	links int
}

func (w *walker) top() int { return w.stack[len(w.stack)-1] }

func (w *walker) close() {
	for _, fd := range w.stack {
		unix.Close(fd)
	}
}

// up goes to the parent held on the stack; at the root, InRoot stays and
// the other rules refuse.
func (w *walker) up() error {
	if len(w.stack) == 1 {
		if w.rule&Rule(unix.RESOLVE_IN_ROOT) != 0 {
			return nil
		}
		return unix.EXDEV
	}
	unix.Close(w.top())
	w.stack = w.stack[:len(w.stack)-1]
	return nil
}

// step opens name in the current directory: a directory to descend into,
// the final file opened with flags, or a symlink's target to resolve.
func (w *walker) step(name string, last bool, flags int, mode uint32) (fd int, target string, err error) {
	p, err := unix.Openat(w.top(), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) && last && flags&unix.O_CREAT != 0 {
		fd, err := unix.Openat(w.top(), name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
		return fd, "", err
	}
	if err != nil {
		return -1, "", err
	}
	var st unix.Stat_t
	if err := unix.Fstat(p, &st); err != nil {
		unix.Close(p)
		return -1, "", err
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		defer unix.Close(p)
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(p, "", buf)
		if err != nil {
			return -1, "", err
		}
		return -1, string(buf[:n]), nil
	case !last && st.Mode&unix.S_IFMT != unix.S_IFDIR:
		unix.Close(p)
		return -1, "", unix.ENOTDIR
	case !last || flags&unix.O_PATH != 0 && flags&unix.O_DIRECTORY == 0:
		return p, "", nil
	}
	unix.Close(p)
	// Opened again by name: if it became a symlink meanwhile, O_NOFOLLOW
	// fails rather than follow it.
	fd, err = unix.Openat(w.top(), name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	return fd, "", err
}

// follow puts a symlink's target in front of what is left to resolve.
func (w *walker) follow(target string, todo []string) ([]string, error) {
	w.links++
	if w.links > maxLinks || w.rule&Rule(unix.RESOLVE_NO_SYMLINKS) != 0 {
		return nil, unix.ELOOP
	}
	if strings.HasPrefix(target, "/") {
		if w.rule&Rule(unix.RESOLVE_IN_ROOT) == 0 {
			return nil, unix.EXDEV
		}
		for len(w.stack) > 1 {
			unix.Close(w.top())
			w.stack = w.stack[:len(w.stack)-1]
		}
	}
	return append(strings.Split(strings.TrimLeft(target, "/"), "/"), todo...), nil
}
