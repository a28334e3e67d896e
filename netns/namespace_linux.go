package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NamedDir is where named namespaces live, as iproute2 keeps them: a file
// per namespace with the namespace bind-mounted on it.
const NamedDir = "/var/run/netns"

// NamedPath is the path of the named namespace name.
func NamedPath(name string) string { return filepath.Join(NamedDir, name) }

// Create makes the named namespace dir/name with its loopback up, or finds
// it (created false) when it already exists: after a client restart the
// allocation's tasks still run in it.
func Create(path string) (created bool, err error) {
	if IsNamespace(path) {
		return false, SetLoopbackUp(path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, fmt.Errorf("create namespace %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o444)
	if err != nil {
		return false, fmt.Errorf("create namespace %s: %w", path, err)
	}
	f.Close()
	if err := bindNewNamespace(path); err != nil {
		os.Remove(path)
		return false, fmt.Errorf("create namespace %s: %w", path, err)
	}
	return true, SetLoopbackUp(path)
}

// bindNewNamespace creates a namespace on a thread of its own and
// bind-mounts it on path. The thread goes back to the original namespace;
// if it cannot, it is left locked so the runtime retires it.
func bindNewNamespace(path string) error {
	errCh := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vnetns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errCh <- err
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errCh <- fmt.Errorf("unshare: %w", err)
			return
		}
		src := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		mountErr := unix.Mount(src, path, "none", unix.MS_BIND, "")
		if err := vnetns.Set(orig); err != nil {
			errCh <- errors.Join(mountErr, fmt.Errorf("return to the original namespace: %w", err))
			return // the thread stays locked and dies with the goroutine
		}
		runtime.UnlockOSThread()
		if mountErr != nil {
			mountErr = fmt.Errorf("bind mount: %w", mountErr)
		}
		errCh <- mountErr
	}()
	return <-errCh
}

// IsNamespace reports whether path is a mounted namespace.
func IsNamespace(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}

// Identity is the namespace's inode in the nsfs, or 0 when path is not a
// namespace: a namespace deleted and made again at the same path has
// another, which tells a repair that processes may be left in the old one.
func Identity(path string) uint64 {
	if !IsNamespace(path) {
		return 0
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0
	}
	return st.Ino
}

// Delete unmounts and removes a named namespace. Processes still in it keep
// it alive; it disappears with the last of them. Deleting twice is fine.
func Delete(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount namespace %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove namespace %s: %w", path, err)
	}
	return nil
}

// SetLoopbackUp brings up lo inside the namespace at path.
func SetLoopbackUp(path string) error {
	return withHandle(path, func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return fmt.Errorf("loopback: %w", err)
		}
		if err := h.LinkSetUp(lo); err != nil {
			return fmt.Errorf("loopback up: %w", err)
		}
		return nil
	})
}

// withHandle runs fn with a netlink handle inside the namespace at path.
func withHandle(path string, fn func(*netlink.Handle) error) error {
	ns, err := vnetns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", path, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in namespace %s: %w", path, err)
	}
	defer h.Close()
	return fn(h)
}
