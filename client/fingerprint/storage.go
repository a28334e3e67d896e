package fingerprint

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/structs"
)

// storageFingerprint reports the filesystem holding the alloc dir: its device
// and size, and its free space as the node's disk.
type storageFingerprint struct{}

func (storageFingerprint) Name() string { return "storage" }

func (storageFingerprint) Fingerprint(cfg *Config, n *structs.Node) error {
	var fs unix.Statfs_t
	if err := unix.Statfs(cfg.AllocDir, &fs); err != nil {
		return err
	}
	total := fs.Blocks * uint64(fs.Bsize)
	free := fs.Bavail * uint64(fs.Bsize)
	n.Attributes[structs.AttrStorageVolume] = mountSource(cfg.AllocDir)
	n.Attributes[structs.AttrStorageBytesTotal] = strconv.FormatUint(total, 10)
	n.Attributes[structs.AttrStorageBytesFree] = strconv.FormatUint(free, 10)
	n.NodeResources.Disk = structs.NodeDiskResources{DiskMB: int64(free / (1 << 20))}
	return nil
}

// mountSource returns the device of the mount holding path.
func mountSource(path string) string {
	_, src := MountOf(path)
	return src
}

// MountOf returns the mount point and device of the mount holding path (the
// longest mount point that prefixes it), from /proc/self/mountinfo; both are
// "" when it cannot be read.
func MountOf(path string) (mountPoint, source string) {
	abs, err := filepath.EvalSymlinks(path)
	if err != nil {
		abs = path
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", ""
	}
	defer f.Close()
	best, src := "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// Fields: id parent major:minor root mountpoint options ... - fstype source superopts
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 2 {
			continue
		}
		mp := fields[4]
		if within(abs, mp) && len(mp) >= len(best) {
			best, src = mp, tail[1]
		}
	}
	return best, src
}

func within(path, dir string) bool {
	return dir == "/" || path == dir || strings.HasPrefix(path, dir+"/")
}
