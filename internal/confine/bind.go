package confine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrNotFileOrDir is the error for a bind source that is a device, FIFO or
// socket: a task may make those, and none is something a job may mount.
var ErrNotFileOrDir = errors.New("neither a regular file nor a directory")

// Bind mounts the opened file f (from Open) at target, which Bind creates
// inside dir: a directory or an empty file to match f. The mount is made of
// the descriptor (/proc/self/fd/N), so it shows exactly what was opened,
// whatever the path f was opened by has become since. It is a plain,
// non-recursive bind: mounts below f (a task's tmpfs dirs) do not come along.
// dir must be private to the caller: not writable by any task.
func Bind(f *os.File, dir, name string) (target string, err error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return "", fmt.Errorf("bind %s: %w", f.Name(), err)
	}
	target = filepath.Join(dir, name)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		err = os.Mkdir(target, 0o700)
	case unix.S_IFREG:
		err = mkfile(target)
	default:
		return "", fmt.Errorf("bind %s: %w", f.Name(), ErrNotFileOrDir)
	}
	if err != nil {
		return "", fmt.Errorf("bind %s: mount point: %w", f.Name(), err)
	}
	src := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		os.Remove(target)
		return "", fmt.Errorf("bind %s at %s: %w", f.Name(), target, err)
	}
	return target, nil
}

// Unbind detaches the mount at target, if any, and removes the mount point.
func Unbind(target string) error {
	err := unix.Unmount(target, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unbind %s: %w", target, err)
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("unbind %s: %w", target, err)
	}
	return nil
}

// PrivateDir creates (or checks) dir as a directory only its owner, root,
// can enter: where Bind's mount points live. It refuses a symlink or a
// directory someone else owns.
func PrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("private dir: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("private dir: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Uid != uint32(os.Geteuid()) {
		return fmt.Errorf("private dir %s: not a directory owned by this process's user", dir)
	}
	return os.Chmod(dir, 0o700)
}

func mkfile(p string) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}
