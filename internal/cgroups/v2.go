package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// v2Controllers are enabled down to every task cgroup; v2Required must be
// available at the root.
var (
	v2Controllers = []string{"cpu", "cpuset", "memory", "pids"}
	v2Required    = []string{"cpu", "cpuset", "memory"}
)

func checkV2(unified string) error {
	s, err := readString(unified, "cgroup.controllers")
	if err != nil {
		return fmt.Errorf("read cgroup v2 controllers: %w", err)
	}
	have := strings.Fields(s)
	var missing []string
	for _, c := range v2Required {
		if !slices.Contains(have, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("cgroup v2 controllers not available at %s: %s", unified, strings.Join(missing, ", "))
	}
	return nil
}

// v2Cgroup is a task cgroup in the unified hierarchy: one directory, under
// <parent>/shared or <parent>/reserved.
type v2Cgroup struct {
	ref     Ref
	unified string
	dir     string
	cpus    cpusetTree
}

var _ Cgroup = (*v2Cgroup)(nil)

func newV2(unified string, ref Ref) *v2Cgroup {
	t := cpusetTree{parent: filepath.Join(unified, ref.Parent), v2: true}
	dir := filepath.Join(t.shared(), ref.Name)
	if ref.Reserved {
		dir = filepath.Join(t.reserved(), ref.Name)
	}
	return &v2Cgroup{ref: ref, unified: unified, dir: dir, cpus: t}
}

func (c *v2Cgroup) Ref() Ref        { return c.ref }
func (c *v2Cgroup) Paths() []string { return []string{c.dir} }

// hasCpuset reports whether the cpuset controller reaches the task cgroups.
func (c *v2Cgroup) hasCpuset() bool {
	return fileExists(filepath.Join(c.cpus.shared(), "cpuset.cpus"))
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (c *v2Cgroup) AddProc(pid int) error {
	return writeFile(c.dir, "cgroup.procs", strconv.Itoa(pid))
}

func (c *v2Cgroup) create(lim Limits) error {
	if err := c.enableControllers(); err != nil {
		return err
	}
	if err := mkdir(c.dir); err != nil {
		return err
	}
	if err := waitEmpty(c.Pids, emptyTimeout); err != nil {
		return err
	}
	if err := apply(c.dir, v2Settings(lim)); err != nil {
		return err
	}
	switch {
	case len(lim.Cores) > 0 && !c.hasCpuset():
		return errors.New("controller cpuset not available")
	case len(lim.Cores) > 0:
		return c.cpus.reserve(c.dir, lim.Cores)
	case c.hasCpuset():
		return withLock(c.cpus.parent, c.cpus.rebalance)
	}
	return nil
}

// enableControllers turns on, from the root down to shared/ and reserved/,
// every wanted controller the root offers: a controller reaches a cgroup only
// if each ancestor delegates it in cgroup.subtree_control.
func (c *v2Cgroup) enableControllers() error {
	s, err := readString(c.unified, "cgroup.controllers")
	if err != nil {
		return fmt.Errorf("read cgroup v2 controllers: %w", err)
	}
	var enable []string
	for _, ctrl := range v2Controllers {
		if slices.Contains(strings.Fields(s), ctrl) {
			enable = append(enable, "+"+ctrl)
		}
	}
	for _, d := range []string{c.unified, c.cpus.parent, c.cpus.shared(), c.cpus.reserved()} {
		if err := mkdir(d); err != nil {
			return err
		}
		if len(enable) == 0 {
			continue
		}
		if err := writeFile(d, "cgroup.subtree_control", strings.Join(enable, " ")); err != nil {
			return err
		}
	}
	return nil
}

// v2Settings maps limits to control files.
func v2Settings(lim Limits) []setting {
	var out []setting
	if lim.CPUShares > 0 {
		out = append(out, setting{file: "cpu.weight", value: strconv.FormatInt(sharesToWeight(lim.CPUShares), 10)})
	}
	if lim.MemoryMaxBytes > 0 {
		out = append(out,
			setting{file: "memory.max", value: strconv.FormatInt(lim.MemoryMaxBytes, 10)},
			setting{file: "memory.swap.max", value: "0", optional: true})
	}
	if lim.MemoryLowBytes > 0 {
		out = append(out, setting{file: "memory.low", value: strconv.FormatInt(lim.MemoryLowBytes, 10)})
	}
	if lim.PidsMax > 0 {
		out = append(out, setting{file: "pids.max", value: strconv.FormatInt(lim.PidsMax, 10)})
	}
	return out
}

// sharesToWeight maps v1 cpu.shares (2..262144) linearly onto v2 cpu.weight
// (1..10000), the conversion container runtimes agree on.
func sharesToWeight(shares int64) int64 {
	shares = min(max(shares, 2), 262144)
	return 1 + ((shares-2)*9999)/262142
}

func (c *v2Cgroup) Pids() ([]int, error) { return readPids(c.dir) }

// Kill uses cgroup.kill (Linux 5.14+), which kills atomically; otherwise it
// freezes the cgroup, kills every process and thaws it.
func (c *v2Cgroup) Kill() error {
	err := writeFile(c.dir, "cgroup.kill", "1")
	if err == nil || errors.Is(err, os.ErrNotExist) && !fileExists(c.dir) {
		return nil
	}
	if ferr := writeFile(c.dir, "cgroup.freeze", "1"); ferr == nil {
		defer writeFile(c.dir, "cgroup.freeze", "0")
	}
	pids, err := c.Pids()
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	killPids(pids)
	return err
}

func (c *v2Cgroup) Remove() error {
	_ = c.Kill()
	if err := waitEmpty(c.Pids, emptyTimeout); err != nil {
		return err
	}
	if c.ref.Reserved && c.hasCpuset() {
		if err := c.cpus.release(c.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	return removeDir(c.dir)
}

// OOMKilled reads the oom_kill counter of memory.events.
func (c *v2Cgroup) OOMKilled() (bool, error) {
	ev, err := readKeyValues(c.dir, "memory.events")
	if err != nil {
		return false, err
	}
	return ev["oom_kill"] > 0, nil
}

func (c *v2Cgroup) Stats() (*Stats, error) {
	ms, err := readKeyValues(c.dir, "memory.stat")
	if err != nil {
		return nil, err
	}
	st := &Stats{
		MemoryRSS: ms["anon"], MemoryCache: ms["file"],
		MemoryMeasured: []string{"RSS", "Cache", "Usage"},
		CPUMeasured:    []string{"System Mode", "User Mode", "Throttled Periods", "Throttled Time", "Percent"},
	}
	if st.MemoryUsage, err = readUint(c.dir, "memory.current"); err != nil {
		return nil, err
	}
	if n, err := readUint(c.dir, "memory.peak"); err == nil {
		st.MemoryMaxUsage = n
		st.MemoryMeasured = append(st.MemoryMeasured, "Max Usage")
	}
	if n, err := readUint(c.dir, "memory.swap.current"); err == nil {
		st.MemorySwap = n
		st.MemoryMeasured = append(st.MemoryMeasured, "Swap")
	}
	cs, err := readKeyValues(c.dir, "cpu.stat")
	if err != nil {
		return nil, err
	}
	st.CPUUsage = time.Duration(cs["usage_usec"]) * time.Microsecond
	st.CPUUser = time.Duration(cs["user_usec"]) * time.Microsecond
	st.CPUSystem = time.Duration(cs["system_usec"]) * time.Microsecond
	st.ThrottledPeriods = cs["nr_throttled"]
	st.ThrottledTime = time.Duration(cs["throttled_usec"]) * time.Microsecond
	return st, nil
}
