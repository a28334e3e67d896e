package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/roam-sh/roam/internal/cpuset"
)

// userHZ is the unit of cpuacct.stat (USER_HZ, 100 on every Linux ABI).
const userHZ = 100

// freezeTimeout bounds waiting for a v1 freezer to report FROZEN.
const freezeTimeout = time.Second

// v1Cgroup is a task cgroup spread over the v1 hierarchies: one directory per
// mounted controller.
type v1Cgroup struct {
	ref  Ref
	dirs map[string]string // controller → this cgroup's directory
	cpus cpusetTree
	// splitCpuset: cpuset has its own hierarchy, so it can use the
	// shared/reserved layout; otherwise its directory is the task's own.
	splitCpuset bool
}

var _ Cgroup = (*v1Cgroup)(nil)

func newV1(mounts map[string]string, ref Ref) *v1Cgroup {
	c := &v1Cgroup{ref: ref, dirs: map[string]string{}}
	cs := mounts["cpuset"]
	c.splitCpuset = cs != ""
	for ctrl, m := range mounts {
		if ctrl != "cpuset" && m == cs {
			c.splitCpuset = false
		}
	}
	for _, ctrl := range v1Controllers {
		m := mounts[ctrl]
		if m == "" {
			continue
		}
		c.dirs[ctrl] = filepath.Join(m, ref.Parent, ref.Name)
	}
	if c.splitCpuset {
		c.cpus = cpusetTree{parent: filepath.Join(cs, ref.Parent)}
		c.dirs["cpuset"] = c.cpus.shared()
		if ref.Reserved {
			c.dirs["cpuset"] = filepath.Join(c.cpus.reserved(), ref.Name)
		}
	}
	return c
}

func (c *v1Cgroup) Ref() Ref { return c.ref }

// Paths lists every directory the task's processes are in.
func (c *v1Cgroup) Paths() []string {
	var out []string
	for _, ctrl := range v1Controllers {
		if d := c.dirs[ctrl]; d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// ownDirs are the directories that belong to this task alone (the shared
// cpuset does not), the reserved cpuset excluded: it is released separately.
func (c *v1Cgroup) ownDirs() []string {
	var out []string
	for _, d := range c.Paths() {
		if c.splitCpuset && d == c.dirs["cpuset"] {
			continue
		}
		out = append(out, d)
	}
	return out
}

func (c *v1Cgroup) create(lim Limits) error {
	if c.splitCpuset {
		if err := c.cpus.ensure(); err != nil {
			return err
		}
	}
	dirs := c.ownDirs()
	if c.splitCpuset && c.ref.Reserved {
		dirs = append(dirs, c.dirs["cpuset"])
	}
	for _, d := range dirs {
		if err := mkdir(d); err != nil {
			return err
		}
	}
	// A cgroup of this name that still has processes belongs to a task that
	// was never cleaned up.
	if err := waitEmpty(c.Pids, emptyTimeout); err != nil {
		return err
	}
	if err := c.applyLimits(lim); err != nil {
		return err
	}
	return c.applyCores(lim.Cores)
}

func (c *v1Cgroup) applyLimits(lim Limits) error {
	for ctrl, ss := range v1Settings(lim) {
		dir := c.dirs[ctrl]
		if dir == "" {
			if ctrl == "pids" {
				continue // optional controller
			}
			return errors.New("controller " + ctrl + " not mounted")
		}
		if err := apply(dir, ss); err != nil {
			return err
		}
	}
	return nil
}

// v1Settings maps limits to control files, by controller.
func v1Settings(lim Limits) map[string][]setting {
	out := map[string][]setting{}
	if lim.CPUShares > 0 {
		out["cpu"] = []setting{{file: "cpu.shares", value: strconv.FormatInt(max(lim.CPUShares, 2), 10)}}
	}
	var mem []setting
	if lim.MemoryMaxBytes > 0 {
		v := strconv.FormatInt(lim.MemoryMaxBytes, 10)
		// memory+swap may never be below memory; lift it first, then make
		// it equal, so the task cannot swap past its limit.
		mem = append(mem,
			setting{file: "memory.memsw.limit_in_bytes", value: "-1", optional: true},
			setting{file: "memory.limit_in_bytes", value: v},
			setting{file: "memory.memsw.limit_in_bytes", value: v, optional: true})
	}
	if lim.MemoryLowBytes > 0 {
		mem = append(mem, setting{file: "memory.soft_limit_in_bytes", value: strconv.FormatInt(lim.MemoryLowBytes, 10)})
	}
	if len(mem) > 0 {
		out["memory"] = mem
	}
	if lim.PidsMax > 0 {
		out["pids"] = []setting{{file: "pids.max", value: strconv.FormatInt(lim.PidsMax, 10)}}
	}
	return out
}

func (c *v1Cgroup) applyCores(cores []uint16) error {
	switch {
	case len(cores) == 0:
		return nil
	case c.splitCpuset:
		return c.cpus.reserve(c.dirs["cpuset"], cores)
	case c.dirs["cpuset"] != "":
		if err := inheritCpuset(c.dirs["cpuset"]); err != nil {
			return err
		}
		return writeFile(c.dirs["cpuset"], "cpuset.cpus", cpuset.Format(cores))
	}
	return errors.New("controller cpuset not mounted")
}

func (c *v1Cgroup) AddProc(pid int) error {
	for _, d := range c.Paths() {
		if err := writeFile(d, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// Pids reads the memory hierarchy, which every task cgroup has.
func (c *v1Cgroup) Pids() ([]int, error) { return readPids(c.dirs["memory"]) }

// Kill freezes the cgroup (when the freezer is mounted) so nothing can fork
// while the processes are being killed, kills them, and thaws it.
func (c *v1Cgroup) Kill() error {
	if fz := c.dirs["freezer"]; fz != "" {
		if err := writeFile(fz, "freezer.state", "FROZEN"); err == nil {
			defer writeFile(fz, "freezer.state", "THAWED")
			waitFrozen(fz)
		}
	}
	pids, err := c.Pids()
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	killPids(pids)
	return err
}

func waitFrozen(dir string) {
	deadline := time.Now().Add(freezeTimeout)
	for time.Now().Before(deadline) {
		if s, err := readString(dir, "freezer.state"); err != nil || s == "FROZEN" {
			return
		}
		time.Sleep(pollInterval)
	}
}

func (c *v1Cgroup) Remove() error {
	_ = c.Kill()
	if err := waitEmpty(c.Pids, emptyTimeout); err != nil {
		return err
	}
	var errs []error
	for _, d := range c.ownDirs() {
		if err := removeDir(d); err != nil {
			errs = append(errs, err)
		}
	}
	if c.splitCpuset && c.ref.Reserved {
		if err := c.cpus.release(c.dirs["cpuset"]); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// OOMKilled reads memory.oom_control's oom_kill counter (Linux 4.13+); on
// older kernels a hit memory limit (failcnt) is the best evidence there is.
func (c *v1Cgroup) OOMKilled() (bool, error) {
	mem := c.dirs["memory"]
	oc, err := readKeyValues(mem, "memory.oom_control")
	if err != nil {
		return false, err
	}
	if n, ok := oc["oom_kill"]; ok {
		return n > 0, nil
	}
	fails, err := readUint(mem, "memory.failcnt")
	return fails > 0, err
}

func (c *v1Cgroup) Stats() (*Stats, error) {
	mem, acct := c.dirs["memory"], c.dirs["cpuacct"]
	ms, err := readKeyValues(mem, "memory.stat")
	if err != nil {
		return nil, err
	}
	st := &Stats{
		MemoryRSS: ms["total_rss"], MemoryCache: ms["total_cache"], MemorySwap: ms["total_swap"],
		MemoryMeasured: []string{"RSS", "Cache", "Usage", "Max Usage"},
		CPUMeasured:    []string{"System Mode", "User Mode", "Throttled Periods", "Throttled Time", "Percent"},
	}
	if _, ok := ms["total_swap"]; ok {
		st.MemoryMeasured = append(st.MemoryMeasured, "Swap")
	}
	if st.MemoryUsage, err = readUint(mem, "memory.usage_in_bytes"); err != nil {
		return nil, err
	}
	if st.MemoryMaxUsage, err = readUint(mem, "memory.max_usage_in_bytes"); err != nil {
		return nil, err
	}
	usage, err := readUint(acct, "cpuacct.usage")
	if err != nil {
		return nil, err
	}
	st.CPUUsage = time.Duration(usage)
	if cs, err := readKeyValues(acct, "cpuacct.stat"); err == nil {
		st.CPUUser = time.Duration(cs["user"]) * time.Second / userHZ
		st.CPUSystem = time.Duration(cs["system"]) * time.Second / userHZ
	}
	if cs, err := readKeyValues(c.dirs["cpu"], "cpu.stat"); err == nil {
		st.ThrottledPeriods, st.ThrottledTime = cs["nr_throttled"], time.Duration(cs["throttled_time"])
	}
	return st, nil
}
