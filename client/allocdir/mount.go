package allocdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

func mountTmpfs(p string, size int, mode os.FileMode) error {
	opts := fmt.Sprintf("size=%d,mode=%04o", size, mode.Perm())
	flags := uintptr(unix.MS_NOEXEC | unix.MS_NOSUID | unix.MS_NODEV)
	if err := unix.Mount("tmpfs", p, "tmpfs", flags, opts); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", p, err)
	}
	return nil
}

func unmountIfMounted(p string) error {
	mounted, err := isMountPoint(p)
	if err != nil || !mounted {
		return err
	}
	// Detach lazily: a task that is still being torn down may hold a file.
	if err := unix.Unmount(p, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW); err != nil && !errors.Is(err, unix.EINVAL) {
		return err
	}
	return nil
}

// isMountPoint reports whether p is on a different device than its parent,
// which is true for the tmpfs mounts made here. A missing p is not mounted.
func isMountPoint(p string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, fmt.Errorf("stat %s: %w", p, err)
	}
	if err := unix.Lstat(filepath.Dir(p), &parent); err != nil {
		return false, fmt.Errorf("stat %s: %w", filepath.Dir(p), err)
	}
	return st.Dev != parent.Dev, nil
}
