package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Version is a cgroup version.
type Version int

const (
	// V1: one hierarchy per controller (legacy and hybrid hosts).
	V1 Version = 1
	// V2: the unified hierarchy.
	V2 Version = 2
)

// String is the node attribute value ("1", "2").
func (v Version) String() string { return strconv.Itoa(int(v)) }

// ParseVersion parses "1" or "2".
func ParseVersion(s string) (Version, error) {
	switch s {
	case "1":
		return V1, nil
	case "2":
		return V2, nil
	}
	return 0, fmt.Errorf("unknown cgroup version %q", s)
}

// Sentinel errors.
var (
	// ErrNoCgroups: no usable cgroup hierarchy is mounted.
	ErrNoCgroups = errors.New("no usable cgroup hierarchy mounted")
	// ErrNotEmpty: processes were still in the cgroup when it had to go.
	ErrNotEmpty = errors.New("cgroup still has processes")
)

// DefaultParent is the cgroup every task cgroup lives under.
func DefaultParent(v Version) string {
	if v == V2 {
		return "roam.slice"
	}
	return "roam"
}

// Ref names one task's cgroup. It is plain data, persisted with the task, so a
// later process (a restarted client) can find the cgroup again with Open.
type Ref struct {
	Version Version `json:"version"`
	// Parent is the directory under each hierarchy ("roam").
	Parent string `json:"parent"`
	// Name is the task's own cgroup ("<alloc>.<task>").
	Name string `json:"name"`
	// Reserved: the task owns exclusive cores (its cpuset lives under
	// Parent/reserved instead of sharing Parent/shared).
	Reserved bool `json:"reserved,omitempty"`
}

func (r Ref) validate() error {
	for _, s := range []string{r.Parent, r.Name} {
		if s == "" || strings.Contains(s, "..") || filepath.IsAbs(s) {
			return fmt.Errorf("invalid cgroup path %q/%q", r.Parent, r.Name)
		}
	}
	if strings.ContainsRune(r.Name, '/') {
		return fmt.Errorf("invalid cgroup name %q", r.Name)
	}
	return nil
}

// Limits are what a task's cgroup enforces. Zero means "no limit".
type Limits struct {
	// CPUShares is the task's relative CPU weight (its `cpu` in MHz).
	CPUShares int64
	// Cores the task owns exclusively; empty means it shares the rest.
	Cores []uint16
	// MemoryMaxBytes is the hard limit; above it the OOM killer acts.
	MemoryMaxBytes int64
	// MemoryLowBytes is the soft limit (v1) / protection (v2), used when the
	// hard limit is an oversubscription ceiling (memory_max).
	MemoryLowBytes int64
	// PidsMax caps the number of processes.
	PidsMax int64
}

// Stats are a cgroup's cumulative usage counters.
type Stats struct {
	MemoryRSS      uint64
	MemoryCache    uint64
	MemorySwap     uint64
	MemoryUsage    uint64
	MemoryMaxUsage uint64
	CPUUsage       time.Duration
	CPUUser        time.Duration
	CPUSystem      time.Duration
	// ThrottledPeriods and ThrottledTime count CFS throttling.
	ThrottledPeriods uint64
	ThrottledTime    time.Duration
	// MemoryMeasured and CPUMeasured name the fields this hierarchy fills.
	MemoryMeasured []string
	CPUMeasured    []string
}

// Cgroup is one task's control group. Methods may be called from several
// goroutines; Remove is idempotent.
type Cgroup interface {
	// Ref is the cgroup's persistable name.
	Ref() Ref
	// Paths are its directories, one per hierarchy it spans.
	Paths() []string
	// AddProc moves a process (all its threads) into the cgroup.
	AddProc(pid int) error
	// Pids lists the processes in the cgroup.
	Pids() ([]int, error)
	// Stats reads the usage counters.
	Stats() (*Stats, error)
	// OOMKilled reports whether the kernel OOM killer has killed a process
	// of the cgroup since it was created.
	OOMKilled() (bool, error)
	// Kill sends SIGKILL to every process in the cgroup.
	Kill() error
	// Remove kills what is left, waits for the cgroup to empty and removes
	// its directories. A cgroup that is already gone is not an error.
	Remove() error
}

// Host is the machine's cgroup setup, found by Detect.
type Host struct {
	version Version
	// v1 maps each mounted v1 controller to its mount point.
	v1 map[string]string
	// unified is the cgroup2 mount point ("" if none).
	unified string
}

// Version is the cgroup version roam uses on this host.
func (h *Host) Version() Version { return h.version }

// Mountpoint is where the hierarchy roam uses is mounted: the unified mount
// on v2, the memory controller's on v1.
func (h *Host) Mountpoint() string {
	if h.version == V2 {
		return h.unified
	}
	return h.v1["memory"]
}

// Check reports whether the controllers isolation needs are available.
func (h *Host) Check() error {
	if h.version == V2 {
		return checkV2(h.unified)
	}
	var missing []string
	for _, c := range v1Required {
		if h.v1[c] == "" {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("cgroup v1 controllers not mounted: %s", strings.Join(missing, ", "))
	}
	return nil
}

// Create makes the cgroup ref names with the given limits. Processes left in
// an existing cgroup of that name (a task that was never cleaned up) are
// killed first. On error nothing is left behind.
func (h *Host) Create(ref Ref, lim Limits) (Cgroup, error) {
	ref.Version = h.version
	ref.Reserved = len(lim.Cores) > 0
	cg, err := h.Open(ref)
	if err != nil {
		return nil, err
	}
	creator := cg.(interface{ create(Limits) error })
	if err := creator.create(lim); err != nil {
		if rerr := cg.Remove(); rerr != nil {
			err = errors.Join(err, fmt.Errorf("clean up: %w", rerr))
		}
		return nil, fmt.Errorf("create cgroup %s/%s: %w", ref.Parent, ref.Name, err)
	}
	return cg, nil
}

// Open returns the cgroup ref names without creating or checking it.
func (h *Host) Open(ref Ref) (Cgroup, error) {
	if err := ref.validate(); err != nil {
		return nil, err
	}
	if ref.Version != h.version {
		return nil, fmt.Errorf("cgroup %s is v%s, host uses v%s", ref.Name, ref.Version, h.version)
	}
	if h.version == V2 {
		return newV2(h.unified, ref), nil
	}
	return newV1(h.v1, ref), nil
}

// RemoveParent removes parent and its shared/reserved children from every
// hierarchy, if no task cgroup is left in them. Missing directories are fine.
func (h *Host) RemoveParent(parent string) error {
	if err := (Ref{Parent: parent, Name: "x"}).validate(); err != nil {
		return err
	}
	var dirs []string
	if h.version == V2 {
		dirs = parentDirs(h.unified, parent)
	} else {
		for _, m := range uniqueMounts(h.v1) {
			dirs = append(dirs, parentDirs(m, parent)...)
		}
	}
	var errs []error
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// parentDirs lists the directories roam makes under a mount for parent,
// deepest first.
func parentDirs(mount, parent string) []string {
	p := filepath.Join(mount, parent)
	return []string{filepath.Join(p, sharedDir), filepath.Join(p, reservedDir), p}
}
