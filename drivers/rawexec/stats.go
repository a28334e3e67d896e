package rawexec

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roam-sh/roam/drivers"
)

// raw_exec tasks have no cgroup of their own, so their usage is read from
// /proc: every process of the task's session (the executor starts the task
// as a session leader, and its children stay in the session unless they
// leave it on purpose).

// clockTicks is the kernel's USER_HZ, the unit of utime and stime.
const clockTicks = 100

// firstSampleWindow is how long the first stats call measures CPU over, when
// there is no earlier sample to compare with.
const firstSampleWindow = 100 * time.Millisecond

// cpuSample is one reading of a task's cumulative CPU time.
type cpuSample struct {
	ticks uint64
	at    time.Time
}

// statsState is the previous sample of one task, for CPU percentages.
type statsState struct {
	mu   sync.Mutex
	prev *cpuSample
}

// procUsage is one process's usage.
type procUsage struct {
	pid   int
	ticks uint64
	rss   uint64
}

// TaskStats reports the task's memory (RSS) and CPU use, per process and in
// total. CPU is measured since the previous call (or over a short window on
// the first call).
func (d *Driver) TaskStats(ctx context.Context, taskID string) (*drivers.TaskResourceUsage, error) {
	t, err := d.get(taskID)
	if err != nil {
		return nil, err
	}
	if t.exit.Exited() {
		return nil, fmt.Errorf("stats of task %s: task is not running", taskID)
	}
	procs, cur := sessionUsage(t.exec.TaskPID)
	prev := t.stats.swap(cur)
	if prev == nil {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(firstSampleWindow):
		}
		first := cur
		prev = &first
		procs, cur = sessionUsage(t.exec.TaskPID)
		t.stats.swap(cur)
	}
	return usage(procs, prev, &cur, d.cpuMHz()), nil
}

// swap records cur as the latest sample and returns the one before it.
func (s *statsState) swap(cur cpuSample) *cpuSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.prev
	s.prev = &cur
	return prev
}

func usage(procs []procUsage, prev, cur *cpuSample, mhz float64) *drivers.TaskResourceUsage {
	out := &drivers.TaskResourceUsage{Timestamp: cur.at.UnixNano(), Pids: map[string]*drivers.TaskResourceUsage{}}
	for _, p := range procs {
		out.MemoryRSSBytes += p.rss
		out.Pids[strconv.Itoa(p.pid)] = &drivers.TaskResourceUsage{Timestamp: out.Timestamp, MemoryRSSBytes: p.rss}
	}
	if dt := cur.at.Sub(prev.at).Seconds(); dt > 0 && cur.ticks >= prev.ticks {
		cpuSeconds := float64(cur.ticks-prev.ticks) / clockTicks
		out.CPUPercent = cpuSeconds / dt * 100
		out.CPUTotalTicks = out.CPUPercent / 100 * mhz
	}
	return out
}

// sessionUsage reads every process of session sid from /proc.
func sessionUsage(sid int) ([]procUsage, cpuSample) {
	sample := cpuSample{at: time.Now()}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, sample
	}
	page := uint64(os.Getpagesize())
	var out []procUsage
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, ok := readStat(pid)
		if !ok || st.session != sid {
			continue
		}
		out = append(out, procUsage{pid: pid, ticks: st.utime + st.stime, rss: st.rssPages * page})
		sample.ticks += st.utime + st.stime
	}
	return out, sample
}

type procStat struct {
	session      int
	utime, stime uint64
	rssPages     uint64
}

// readStat parses /proc/<pid>/stat; the command name may hold spaces and
// parentheses, so fields are counted from the last ')'.
func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, false
	}
	// After ')': state ppid pgrp session ... utime(12th) stime(13th) ... rss(22nd).
	f := strings.Fields(s[i+1:])
	if len(f) < 22 {
		return procStat{}, false
	}
	var st procStat
	var err1, err2, err3, err4 error
	st.session, err1 = strconv.Atoi(f[3])
	st.utime, err2 = strconv.ParseUint(f[11], 10, 64)
	st.stime, err3 = strconv.ParseUint(f[12], 10, 64)
	st.rssPages, err4 = strconv.ParseUint(f[21], 10, 64)
	return st, err1 == nil && err2 == nil && err3 == nil && err4 == nil
}

// cpuMHz is one core's frequency, for turning a CPU percentage into MHz
// (what Nomad calls ticks). Read once.
func (d *Driver) cpuMHz() float64 {
	d.mhzOnce.Do(func() { d.mhz = drivers.CPUMHz() })
	return d.mhz
}
