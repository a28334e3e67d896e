package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/roam-sh/roam/internal/cpuset"
)

// The two cpuset subtrees under a parent.
const (
	sharedDir   = "shared"
	reservedDir = "reserved"
)

// cpusetTree is the cpuset side of one parent: tasks without reserved cores
// share parent/shared, whose cores are the parent's minus every core held by
// a child of parent/reserved.
type cpusetTree struct {
	parent string // <mount>/<parent>
	v2     bool
}

func (t cpusetTree) shared() string   { return filepath.Join(t.parent, sharedDir) }
func (t cpusetTree) reserved() string { return filepath.Join(t.parent, reservedDir) }

// ensure creates the parent and its two subtrees and brings the shared
// cores up to date. On v1 a new cpuset has no cores or memory nodes until it
// is given some, so each inherits its parent's.
func (t cpusetTree) ensure() error {
	for _, d := range []string{t.parent, t.reserved(), t.shared()} {
		if err := mkdir(d); err != nil {
			return err
		}
		if !t.v2 {
			if err := inheritCpuset(d); err != nil {
				return err
			}
		}
	}
	return withLock(t.parent, t.rebalance)
}

// inheritCpuset copies cpus and mems from the parent directory when unset.
func inheritCpuset(dir string) error {
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, err := readString(dir, f)
		if err != nil {
			return fmt.Errorf("read %s: %w", filepath.Join(dir, f), err)
		}
		if cur != "" {
			continue
		}
		up, err := readString(filepath.Dir(dir), f)
		if err != nil {
			return fmt.Errorf("read %s: %w", filepath.Join(filepath.Dir(dir), f), err)
		}
		if err := writeFile(dir, f, up); err != nil {
			return err
		}
	}
	return nil
}

// reserve gives dir (a child of reserved/) the cores, then takes them away
// from the shared set.
func (t cpusetTree) reserve(dir string, cores []uint16) error {
	return withLock(t.parent, func() error {
		ss := []setting{{file: "cpuset.cpus", value: cpuset.Format(cores)}}
		if !t.v2 {
			mems, err := readString(t.reserved(), "cpuset.mems")
			if err != nil {
				return fmt.Errorf("read reserved mems: %w", err)
			}
			ss = append(ss, setting{file: "cpuset.mems", value: mems})
		}
		if err := apply(dir, ss); err != nil {
			return err
		}
		return t.rebalance()
	})
}

// release removes a reserved child and gives its cores back to the shared set.
func (t cpusetTree) release(dir string) error {
	return withLock(t.parent, func() error {
		if err := removeDir(dir); err != nil {
			return err
		}
		return t.rebalance()
	})
}

// rebalance sets the shared cores to the parent's minus the reserved ones. A
// shared set would become empty only if every core were reserved; then it is
// left as it was rather than starving the shared tasks of every core.
func (t cpusetTree) rebalance() error {
	all, err := t.parentCores()
	if err != nil {
		return err
	}
	held, err := t.reservedCores()
	if err != nil {
		return err
	}
	rest := slices.DeleteFunc(all, func(c uint16) bool { return slices.Contains(held, c) })
	if len(rest) == 0 {
		return nil
	}
	return writeFile(t.shared(), "cpuset.cpus", cpuset.Format(rest))
}

func (t cpusetTree) parentCores() ([]uint16, error) {
	file := "cpuset.cpus"
	if t.v2 {
		file = "cpuset.cpus.effective"
	}
	s, err := readString(t.parent, file)
	if err != nil {
		return nil, fmt.Errorf("read parent cores: %w", err)
	}
	return cpuset.Parse(s)
}

func (t cpusetTree) reservedCores() ([]uint16, error) {
	entries, err := os.ReadDir(t.reserved())
	if err != nil {
		return nil, fmt.Errorf("list reserved cpusets: %w", err)
	}
	var held []uint16
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		s, err := readString(filepath.Join(t.reserved(), e.Name()), "cpuset.cpus")
		if errors.Is(err, os.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		cores, err := cpuset.Parse(s)
		if err != nil {
			return nil, err
		}
		held = append(held, cores...)
	}
	return held, nil
}
