package hoststats

import (
	"bufio"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/client/fingerprint"
)

// Collector reads the host's stats. Its zero value is ready; it keeps the
// previous CPU reading so that percentages cover the time between two calls.
type Collector struct {
	cpu cpuSampler
}

// Collect reads memory, CPUs, uptime and the disk holding allocDir ("" to
// leave the disk out); totalMHz is the node's CPU compute, to report the
// MHz in use (CPUTicksConsumed).
func (c *Collector) Collect(allocDir string, totalMHz int64) *api.HostStats {
	out := &api.HostStats{Timestamp: time.Now().UnixNano(), DeviceStats: []json.RawMessage{}, DiskStats: []*api.HostDiskStats{}}
	out.Memory = readMemInfo()
	out.CPU, out.CPUTicksConsumed = c.cpu.sample(totalMHz)
	if up, err := readUptime(); err == nil {
		out.Uptime = up
	}
	if allocDir != "" {
		if d := diskStats(allocDir); d != nil {
			out.AllocDirStats = d
			out.DiskStats = append(out.DiskStats, d)
		}
	}
	return out
}

// cpuSampler keeps the previous /proc/stat reading per CPU.
type cpuSampler struct {
	mu   sync.Mutex
	prev map[string]cpuTimes
}

// cpuTimes is one /proc/stat cpu line: user (with nice), system (with irq
// and softirq), idle (with iowait) and the total, in ticks.
type cpuTimes struct{ user, system, idle, total float64 }

// sample returns each CPU's split since the last sample and the MHz in use
// on the whole host (busy share of totalMHz).
func (s *cpuSampler) sample(totalMHz int64) ([]*api.HostCPUStats, float64) {
	cur := readProcStat()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*api.HostCPUStats{}
	var busy float64
	for _, name := range cur.order {
		c := cur.times[name]
		d := c
		if p, ok := s.prev[name]; ok && c.total > p.total {
			d = cpuTimes{c.user - p.user, c.system - p.system, c.idle - p.idle, c.total - p.total}
		}
		if d.total <= 0 {
			continue
		}
		st := &api.HostCPUStats{CPU: name, User: 100 * d.user / d.total, System: 100 * d.system / d.total, Idle: 100 * d.idle / d.total}
		out = append(out, st)
		busy += 100 - st.Idle
	}
	s.prev = cur.times
	if len(out) == 0 {
		return out, 0
	}
	return out, busy / float64(len(out)) / 100 * float64(totalMHz)
}

type procStat struct {
	order []string
	times map[string]cpuTimes
}

func readProcStat() procStat {
	ps := procStat{times: map[string]cpuTimes{}}
	f, err := os.Open("/proc/stat")
	if err != nil {
		return ps
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// Per-CPU lines only ("cpu0"…); "cpu" is their sum.
		if len(fields) < 8 || !strings.HasPrefix(fields[0], "cpu") || fields[0] == "cpu" {
			continue
		}
		v := make([]float64, 8)
		for i := range v {
			v[i], _ = strconv.ParseFloat(fields[i+1], 64)
		}
		// user nice system idle iowait irq softirq steal
		t := cpuTimes{user: v[0] + v[1], system: v[2] + v[5] + v[6], idle: v[3] + v[4]}
		t.total = t.user + t.system + t.idle + v[7]
		ps.order = append(ps.order, fields[0])
		ps.times[fields[0]] = t
	}
	return ps
}

// readMemInfo reads /proc/meminfo; Used is what is not available.
func readMemInfo() *api.HostMemoryStats {
	m := &api.HostMemoryStats{}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseUint(fields[1], 10, 64)
		switch fields[0] {
		case "MemTotal:":
			m.Total = kb << 10
		case "MemAvailable:":
			m.Available = kb << 10
		case "MemFree:":
			m.Free = kb << 10
		}
	}
	m.Used = m.Total - min(m.Available, m.Total)
	return m
}

func readUptime() (uint64, error) {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	up, err := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	return uint64(up), err
}

// diskStats is the usage of the filesystem holding path.
func diskStats(path string) *api.HostDiskStats {
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		return nil
	}
	mp, dev := fingerprint.MountOf(path)
	bs := uint64(fs.Bsize)
	d := &api.HostDiskStats{
		Device: dev, Mountpoint: mp, Size: fs.Blocks * bs,
		Available: fs.Bavail * bs, Used: (fs.Blocks - fs.Bfree) * bs,
	}
	if d.Size > 0 {
		d.UsedPercent = 100 * float64(d.Used) / float64(d.Used+d.Available)
	}
	if fs.Files > 0 {
		d.InodesUsedPercent = 100 * float64(fs.Files-fs.Ffree) / float64(fs.Files)
	}
	return d
}
