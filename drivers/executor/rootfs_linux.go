package executor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/internal/confine"
)

// hostDir is where the host's root stays reachable, inside the task's root,
// while the init step mounts host paths into it. It is unmounted and removed
// before the task runs.
const hostDir = "/.roam-host"

// devNodes are the host devices a task gets in its /dev.
var devNodes = []string{"null", "zero", "full", "random", "urandom", "tty"}

// buildRoot turns the task dir into the task's root, in the init step's own
// mount namespace, so every mount dies with the task and none is ever seen
// by the host (nothing to unmount, nothing for a recursive delete of the
// alloc dir to descend into). In order:
//
//  1. make every mount a slave: nothing mounted here propagates to the host,
//     while host mounts still propagate in (host-to-task volumes);
//  2. bind the task dir onto itself, so it is a mount point (pivot_root wants
//     one) that carries its secrets/ and private/ tmpfs along;
//  3. enter it (pivot_root, or chroot with no_pivot_root), keeping the host
//     at /.roam-host: destinations are then resolved inside the new root,
//     where a symlink the task planted on an earlier run cannot lead out;
//  4. bind chroot_env paths (read-only), /alloc and host volumes, then
//     mask the host secrets chroot_env brought in (/etc/shadow…);
//  5. mount a fresh /proc (the new PID namespace's) and a minimal /dev;
//  6. hide roam's private/ dir and the sensitive parts of /proc;
//  7. let go of the host's root.
func buildRoot(c *initConfig) error {
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make mounts private to the task: %w", err)
	}
	if err := unix.Mount(c.Root, c.Root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind task dir %s: %w", c.Root, err)
	}
	if err := enterRoot(c.Root, c.NoPivotRoot); err != nil {
		return err
	}
	var hostOwned []string
	for _, b := range c.Binds {
		if err := bindInto(b, hostOwned); err != nil {
			return err
		}
		if b.HostOwned {
			hostOwned = append(hostOwned, b.Dest)
		}
	}
	if err := applyMasks(c.Masks); err != nil {
		return err
	}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"mount /proc", mountProc},
		{"build /dev", func() error { return mountDev(c.HostIPC) }},
		{"hide private dir", hidePrivate},
		{"protect /proc", protectProc},
		{"leave host root", leaveHost},
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// enterRoot makes root the process's "/" with the host's tree at hostDir.
func enterRoot(root string, noPivot bool) error {
	old := filepath.Join(root, hostDir)
	// A task can leave a symlink named .roam-host in its root for its next
	// run: made through no symlink, or the mkdir would land on the host.
	f, err := confine.MkdirAll(root, strings.TrimPrefix(hostDir, "/"), 0o700, confine.NoSymlinks)
	if err != nil {
		return fmt.Errorf("enter root: %w", err)
	}
	f.Close()
	if noPivot {
		if err := unix.Mount("/", old, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("enter root: bind host root: %w", err)
		}
		if err := unix.Chroot(root); err != nil {
			return fmt.Errorf("enter root: chroot %s: %w", root, err)
		}
	} else if err := unix.PivotRoot(root, old); err != nil {
		return fmt.Errorf("enter root: pivot_root to %s: %w (set no_pivot_root on hosts that cannot pivot)", root, err)
	}
	return unix.Chdir("/")
}

// bindInto mounts a host path at its destination in the new root. The
// destination is resolved and made by openMountpoint, and the source is
// attached to the descriptor it returns (move_mount), never to the path
// again: the task dir and /alloc are written by tasks, which could swap a
// component for a symlink in between. Propagation and read-only are then
// set on the new mount through its own descriptor.
func bindInto(b bindMount, hostOwned []string) error {
	src := hostDir + b.Source
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("mount %s: %w", b.Source, err)
	}
	dst, err := openMountpoint(b.Dest, fi.IsDir(), hostOwned)
	if err != nil {
		return err
	}
	defer dst.Close()
	tree, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("mount %s: clone: %w", b.Source, err)
	}
	defer unix.Close(tree)
	if err := unix.MoveMount(tree, "", int(dst.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount %s at %s: %w", b.Source, b.Dest, err)
	}
	mnt := fdPath(tree) // the attached mount itself
	if err := unix.Mount("", mnt, "", propagationFlags(b.Propagation)|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("set propagation of %s: %w", b.Dest, err)
	}
	if b.ReadOnly {
		return remountReadOnly(mnt)
	}
	return nil
}

// fdPath names an open descriptor through the host's /proc, which stays
// reachable under hostDir until leaveHost.
func fdPath(fd int) string { return fmt.Sprintf("%s/proc/self/fd/%d", hostDir, fd) }

// openMountpoint resolves dst inside the new root as the task would
// (confine.InRoot: its absolute symlinks stay inside), creating what is
// missing one component at a time, and returns it opened (O_PATH). It
// refuses a destination that resolves into the host's tree at hostDir
// (a task can plant a link to /.roam-host/...), and creating anything
// inside a host directory mounted earlier (hostOwned): either would write
// into the host's own filesystem.
func openMountpoint(dst string, dir bool, hostOwned []string) (*os.File, error) {
	rel := strings.TrimPrefix(filepath.Clean("/"+dst), "/")
	parts := strings.Split(rel, "/")
	prefix := ""
	for i, name := range parts {
		last := i == len(parts)-1
		next := filepath.Join(prefix, name)
		f, err := confine.Open("/", next, confine.InRoot)
		if errors.Is(err, os.ErrNotExist) {
			err = makeComponent(prefix, name, dir || !last, hostOwned)
			if err == nil {
				f, err = confine.Open("/", next, confine.InRoot)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("mount point %s: %w", dst, err)
		}
		if err := outsideHost(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("mount point %s: %w", dst, err)
		}
		if last {
			return f, nil
		}
		f.Close()
		prefix = next
	}
	return nil, fmt.Errorf("mount point %s: not a path", dst)
}

// makeComponent creates name (a directory, or an empty file) in the
// directory prefix resolves to, once that directory is known to be the
// task's own: not the host's tree, not a host directory mounted earlier.
func makeComponent(prefix, name string, dir bool, hostOwned []string) error {
	parent, err := confine.OpenFile("/", prefix, unix.O_DIRECTORY|unix.O_RDONLY, 0, confine.InRoot)
	if err != nil {
		return err
	}
	defer parent.Close()
	if err := outsideHost(parent); err != nil {
		return err
	}
	where, err := os.Readlink(fdPath(int(parent.Fd())))
	if err != nil {
		return err
	}
	for _, h := range hostOwned {
		if where == h || strings.HasPrefix(where, strings.TrimSuffix(h, "/")+"/") {
			return fmt.Errorf("%s does not exist inside %s, a host directory mounted read-only or shared; roam does not create it there", filepath.Join(where, name), h)
		}
	}
	if dir {
		err = unix.Mkdirat(int(parent.Fd()), name, 0o755)
	} else {
		var fd int
		fd, err = unix.Openat(int(parent.Fd()), name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if err == nil {
			unix.Close(fd)
		}
	}
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("create %s: %w", filepath.Join(where, name), err)
	}
	return nil
}

// outsideHost refuses an opened path that lies in the host's tree. Where
// it lies is the kernel's word (the descriptor's path), not the name it was
// opened by.
func outsideHost(f *os.File) error {
	where, err := os.Readlink(fdPath(int(f.Fd())))
	if err != nil {
		return err
	}
	if where == hostDir || strings.HasPrefix(where, hostDir+"/") {
		return fmt.Errorf("resolves to %s, in the host's tree: %w", where, confine.ErrEscapes)
	}
	return nil
}

// propagationFlags maps a volume_mount propagation_mode. Because every mount
// of the task is a slave of the host's, "bidirectional" cannot send events
// back to the host; it behaves as host-to-task.
func propagationFlags(mode string) uintptr {
	switch mode {
	case "host-to-task":
		return unix.MS_SLAVE
	case "bidirectional":
		return unix.MS_SHARED
	}
	return unix.MS_PRIVATE
}

// makeMountpoint creates the directory (or empty file) a mount goes on. It
// refuses to create one inside a host directory mounted earlier: that would
// write into the host's own filesystem.
func makeMountpoint(dst string, dir bool, hostOwned []string) error {
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	for _, h := range hostOwned {
		if strings.HasPrefix(dst, strings.TrimSuffix(h, "/")+"/") {
			return fmt.Errorf("mount point %s does not exist inside %s, a host directory mounted read-only or shared; roam does not create it there", dst, h)
		}
	}
	if dir {
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return fmt.Errorf("create mount point: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("create mount point: %w", err)
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create mount point: %w", err)
	}
	return f.Close()
}

// remountReadOnly makes a bind mount read-only, keeping the flags it has (a
// bind remount replaces them all, so nosuid on the source would be lost).
func remountReadOnly(dst string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dst, &st); err != nil {
		return fmt.Errorf("remount %s read-only: %w", dst, err)
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY)
	for st1, ms := range map[int64]uintptr{
		unix.ST_NOSUID: unix.MS_NOSUID, unix.ST_NODEV: unix.MS_NODEV, unix.ST_NOEXEC: unix.MS_NOEXEC,
		unix.ST_NOATIME: unix.MS_NOATIME, unix.ST_NODIRATIME: unix.MS_NODIRATIME, unix.ST_RELATIME: unix.MS_RELATIME,
	} {
		if st.Flags&st1 != 0 {
			flags |= ms
		}
	}
	if err := unix.Mount("", dst, "", flags, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", dst, err)
	}
	return nil
}

// mountProc mounts the task's /proc on the directory openMountpoint made:
// a /proc the task left as a link into the host's tree is refused.
func mountProc() error {
	dst, err := openMountpoint("/proc", true, nil)
	if err != nil {
		return err
	}
	defer dst.Close()
	return unix.Mount("proc", fdPath(int(dst.Fd())), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
}

// mountDev builds /dev on a small tmpfs: the common device nodes bound from
// the host, a private devpts, /dev/shm and the usual symlinks.
func mountDev(hostIPC bool) error {
	// As for /proc: the mount point is judged, then mounted on by
	// descriptor; everything below is made inside the fresh tmpfs.
	dst, err := openMountpoint("/dev", true, nil)
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := unix.Mount("tmpfs", fdPath(int(dst.Fd())), "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return err
	}
	for _, n := range devNodes {
		src, dst := hostDir+"/dev/"+n, "/dev/"+n
		if _, err := os.Stat(src); err != nil {
			continue
		}
		if err := makeMountpoint(dst, false, nil); err != nil {
			return err
		}
		if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s: %w", dst, err)
		}
	}
	if err := mountDevPts(); err != nil {
		return err
	}
	if err := mountShm(hostIPC); err != nil {
		return err
	}
	for link, target := range map[string]string{
		"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
		"/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2",
	} {
		if err := os.Symlink(target, link); err != nil {
			return err
		}
	}
	return nil
}

// mountDevPts gives the task its own pseudo-terminal instance.
func mountDevPts() error {
	if err := os.Mkdir("/dev/pts", 0o755); err != nil {
		return err
	}
	err := unix.Mount("devpts", "/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
	if err != nil {
		return fmt.Errorf("mount devpts: %w", err)
	}
	return os.Symlink("pts/ptmx", "/dev/ptmx")
}

// mountShm gives /dev/shm: the host's when the task shares its IPC
// namespace (POSIX shared memory lives there), else a fresh tmpfs.
func mountShm(hostIPC bool) error {
	if err := os.Mkdir("/dev/shm", 0o1777); err != nil {
		return err
	}
	if hostIPC {
		return unix.Mount(hostDir+"/dev/shm", "/dev/shm", "", unix.MS_BIND|unix.MS_REC, "")
	}
	return unix.Mount("shm", "/dev/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k")
}

// hidePrivate covers roam's private/ dir (the executor's spec holds the
// task's environment) with an empty read-only tmpfs.
func hidePrivate() error {
	if _, err := os.Stat("/private"); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return unix.Mount("tmpfs", "/private", "tmpfs",
		unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=4k,mode=000")
}

// protectProc makes the kernel-tuning parts of /proc read-only and blanks
// the ones that leak host secrets, as container runtimes do.
func protectProc() error {
	for _, p := range []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s: %w", p, err)
		}
		if err := remountReadOnly(p); err != nil {
			return err
		}
	}
	for _, p := range []string{"/proc/kcore", "/proc/keys", "/proc/timer_list"} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if err := unix.Mount("/dev/null", p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	return nil
}

func leaveHost() error {
	if err := unix.Unmount(hostDir, unix.MNT_DETACH); err != nil {
		return err
	}
	return os.Remove(hostDir)
}
