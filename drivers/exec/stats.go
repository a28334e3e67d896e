package exec

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/internal/cgroups"
)

// firstSampleWindow is how long the first stats call of a task measures CPU
// over, when there is no earlier sample to compare with.
const firstSampleWindow = 100 * time.Millisecond

// cpuSample is one reading of a cgroup's cumulative CPU time.
type cpuSample struct {
	at               time.Time
	total, user, sys time.Duration
	memory           *cgroups.Stats
}

// cpuSampler keeps a task's previous sample, for CPU percentages.
type cpuSampler struct {
	mu   sync.Mutex
	prev *cpuSample
}

func (s *cpuSampler) swap(cur *cpuSample) *cpuSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.prev
	s.prev = cur
	return prev
}

// TaskStats reads the task's cgroup: memory (RSS, cache, swap, usage, peak)
// and CPU (percent of one core since the previous call, user and system
// split, throttling).
func (d *Driver) TaskStats(ctx context.Context, taskID string) (*drivers.TaskResourceUsage, error) {
	t, err := d.get(taskID)
	if err != nil {
		return nil, err
	}
	if t.exit.Exited() || t.cgroup == nil {
		return nil, fmt.Errorf("stats of task %s: task is not running", taskID)
	}
	cur, err := sample(t.cgroup)
	if err != nil {
		return nil, fmt.Errorf("stats of task %s: %w", taskID, err)
	}
	prev := t.stats.swap(cur)
	if prev == nil {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(firstSampleWindow):
		}
		prev = cur
		if cur, err = sample(t.cgroup); err != nil {
			return nil, fmt.Errorf("stats of task %s: %w", taskID, err)
		}
		t.stats.swap(cur)
	}
	return usageBetween(prev, cur, d.cpuMHz()), nil
}

func sample(cg cgroups.Cgroup) (*cpuSample, error) {
	st, err := cg.Stats()
	if err != nil {
		return nil, err
	}
	return &cpuSample{at: time.Now(), total: st.CPUUsage, user: st.CPUUser, sys: st.CPUSystem, memory: st}, nil
}

// usageBetween turns two samples into the driver's usage report.
func usageBetween(prev, cur *cpuSample, mhz float64) *drivers.TaskResourceUsage {
	m := cur.memory
	out := &drivers.TaskResourceUsage{
		Timestamp: cur.at.UnixNano(), MemoryRSSBytes: m.MemoryRSS, MemoryUsageBytes: m.MemoryUsage,
		MemoryMaxUsageBytes: m.MemoryMaxUsage, MemoryCacheBytes: m.MemoryCache, MemorySwapBytes: m.MemorySwap,
		CPUThrottledPeriods: m.ThrottledPeriods, CPUThrottledTime: m.ThrottledTime,
		MemoryMeasured: m.MemoryMeasured, CPUMeasured: m.CPUMeasured,
	}
	dt := cur.at.Sub(prev.at)
	if dt <= 0 {
		return out
	}
	pct := func(a, b time.Duration) float64 {
		if b < a {
			return 0
		}
		return float64(b-a) / float64(dt) * 100
	}
	out.CPUPercent = pct(prev.total, cur.total)
	out.CPUUserPercent = pct(prev.user, cur.user)
	out.CPUSystemPercent = pct(prev.sys, cur.sys)
	out.CPUTotalTicks = out.CPUPercent / 100 * mhz
	return out
}

// cpuMHz is one core's frequency, for turning a CPU percentage into MHz
// (what Nomad calls ticks). Read once.
func (d *Driver) cpuMHz() float64 {
	d.mhzOnce.Do(func() { d.mhz = drivers.CPUMHz() })
	return d.mhz
}
