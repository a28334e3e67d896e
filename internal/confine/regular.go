package confine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrNotRegular is the error for a path that must be a regular file and is
// something else a task could have made there: a FIFO (opening it would
// block), a device node (writing it would reach the host's disk), a socket
// or a directory.
var ErrNotRegular = errors.New("not a regular file")

// OpenRegular opens rel beneath root with flags like OpenFile, but only if
// it is a regular file, or, with O_CREATE, is created as one. The type is
// judged on an O_PATH descriptor before anything is opened for reading or
// writing, and that same file is then reopened through /proc/self/fd.
func OpenRegular(root, rel string, flags int, mode uint32, rule Rule) (*os.File, error) {
	for range retries {
		p, err := Open(root, rel, rule)
		if errors.Is(err, fs.ErrNotExist) && flags&unix.O_CREAT != 0 {
			f, err := OpenFile(root, rel, flags|unix.O_EXCL, mode, rule)
			if errors.Is(err, fs.ErrExist) {
				continue // made meanwhile: judge what is there now
			}
			return f, err
		}
		if err != nil {
			return nil, err
		}
		return reopenRegular(p, flags)
	}
	return nil, fmt.Errorf("open %s: %w", filepath.Join(root, rel), unix.EAGAIN)
}

func reopenRegular(p *os.File, flags int) (*os.File, error) {
	defer p.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(p.Fd()), &st); err != nil {
		return nil, fmt.Errorf("open %s: %w", p.Name(), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("open %s: %w", p.Name(), ErrNotRegular)
	}
	flags &^= unix.O_CREAT | unix.O_EXCL
	fd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", p.Fd()), flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "reopen", Path: p.Name(), Err: err}
	}
	return os.NewFile(uintptr(fd), p.Name()), nil
}
