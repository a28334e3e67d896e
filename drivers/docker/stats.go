package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/roam-sh/roam/drivers"
)

// TaskStats asks Docker for one stats reading of the container: memory
// (RSS, cache, swap, usage, peak) and CPU (percent of one core over the
// daemon's sampling interval, user and system split, throttling).
func (d *Driver) TaskStats(ctx context.Context, taskID string) (*drivers.TaskResourceUsage, error) {
	t, err := d.get(taskID)
	if err != nil {
		return nil, err
	}
	if t.exit.Exited() {
		return nil, fmt.Errorf("stats of task %s: task is not running", taskID)
	}
	// One reading, with the sample a second before it for the CPU deltas.
	resp, err := d.api.ContainerStats(ctx, t.state.ContainerID, client.ContainerStatsOptions{IncludePreviousSample: true})
	if err != nil {
		return nil, fmt.Errorf("stats of task %s: %w", taskID, err)
	}
	defer resp.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return nil, fmt.Errorf("stats of task %s: decode: %w", taskID, err)
	}
	return usage(&s, d.cpuMHz()), nil
}

// usage turns Docker's stats into the driver's report. cgroup v1 reports
// rss and cache, v2 anon and file.
func usage(s *container.StatsResponse, mhz float64) *drivers.TaskResourceUsage {
	m := s.MemoryStats
	out := &drivers.TaskResourceUsage{
		Timestamp: s.Read.UnixNano(), MemoryUsageBytes: m.Usage, MemoryMaxUsageBytes: m.MaxUsage,
		CPUThrottledPeriods: s.CPUStats.ThrottlingData.ThrottledPeriods,
		CPUThrottledTime:    time.Duration(s.CPUStats.ThrottlingData.ThrottledTime),
		CPUMeasured:         []string{"Throttled Periods", "Throttled Time", "Percent"},
	}
	if rss, ok := m.Stats["rss"]; ok {
		out.MemoryRSSBytes, out.MemoryCacheBytes, out.MemorySwapBytes = rss, m.Stats["cache"], m.Stats["swap"]
		out.MemoryMeasured = []string{"RSS", "Cache", "Swap", "Usage", "Max Usage"}
	} else {
		out.MemoryRSSBytes, out.MemoryCacheBytes = m.Stats["anon"], m.Stats["file"]
		out.MemoryMeasured = []string{"RSS", "Cache", "Usage"}
	}
	cur, prev := s.CPUStats, s.PreCPUStats
	sysDelta := float64(cur.SystemUsage) - float64(prev.SystemUsage)
	if sysDelta > 0 && cur.CPUUsage.TotalUsage >= prev.CPUUsage.TotalUsage {
		cpus := float64(cur.OnlineCPUs)
		if cpus == 0 {
			cpus = float64(len(cur.CPUUsage.PercpuUsage))
		}
		pct := func(a, b uint64) float64 {
			if b < a {
				return 0
			}
			return float64(b-a) / sysDelta * cpus * 100
		}
		out.CPUPercent = pct(prev.CPUUsage.TotalUsage, cur.CPUUsage.TotalUsage)
		out.CPUUserPercent = pct(prev.CPUUsage.UsageInUsermode, cur.CPUUsage.UsageInUsermode)
		out.CPUSystemPercent = pct(prev.CPUUsage.UsageInKernelmode, cur.CPUUsage.UsageInKernelmode)
		out.CPUTotalTicks = out.CPUPercent / 100 * mhz
	}
	return out
}
