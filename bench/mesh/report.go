package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report collects the figures of one run.
type report struct {
	kaDirect, kaMesh   float64 // requests/s
	kaCost             cost    // both proxies, per request
	ncDirect, ncMesh   float64
	ncCost             cost
	tcpDirect, tcpMesh float64 // MB/s
	latDirect, latMesh [3]time.Duration
	latCost            cost
	latRequests        int
	rss, peakRSS       float64 // MiB, the larger of the two proxies
	idleRSS            float64 // MiB, before any load
	anon, idleAnon     float64 // MiB, RssAnon after the load and before
	// each is every proxy's memory after the load, by name; bothRSS and
	// bothAnon their sums.
	each                  []namedMem
	bothRSS, bothAnon     float64
	loadBefore, loadAfter string // the machine's 1-minute load average
}

var quantiles = [3]float64{0.50, 0.99, 0.999}

// meshCost runs f and returns what the proxies spent per request of the
// requests f reports.
func meshCost(ps proxies, f func() (int64, error)) (cost, error) {
	before, err := ps.cost()
	if err != nil {
		return cost{}, err
	}
	n, err := f()
	if err != nil {
		return cost{}, err
	}
	after, err := ps.cost()
	if err != nil {
		return cost{}, err
	}
	if n == 0 {
		return cost{}, fmt.Errorf("no request completed")
	}
	return after.sub(before).per(n), nil
}

func measureKeepAlive(s *setup, o options, r *report, logger *slog.Logger) error {
	d, err := keepAlive(s.direct, o.conns, o.duration)
	if err != nil {
		return fmt.Errorf("direct: %w", err)
	}
	r.kaDirect = d.rate()
	r.kaCost, err = meshCost(s.proxies, func() (int64, error) {
		m, err := keepAlive(s.upstream, o.conns, o.duration)
		r.kaMesh = m.rate()
		return m.n, err
	})
	logger.Info("keep-alive", "direct_rps", int(r.kaDirect), "mesh_rps", int(r.kaMesh))
	return err
}

func measureNewConn(s *setup, o options, r *report, logger *slog.Logger) error {
	d, err := newConnPerRequest(s.direct, o.conns, o.duration)
	if err != nil {
		return fmt.Errorf("direct: %w", err)
	}
	r.ncDirect = d.rate()
	r.ncCost, err = meshCost(s.proxies, func() (int64, error) {
		m, err := newConnPerRequest(s.upstream, o.conns, o.duration)
		r.ncMesh = m.rate()
		return m.n, err
	})
	logger.Info("new connection per request", "direct_rps", int(r.ncDirect), "mesh_rps", int(r.ncMesh))
	return err
}

func measureTCP(s *setup, o options, r *report, logger *slog.Logger) error {
	var err error
	if r.tcpDirect, err = throughput(s.direct, o.duration); err != nil {
		return fmt.Errorf("direct: %w", err)
	}
	if r.tcpMesh, err = throughput(s.upstream, o.duration); err != nil {
		return fmt.Errorf("mesh: %w", err)
	}
	logger.Info("TCP throughput", "direct_MBps", int(r.tcpDirect), "mesh_MBps", int(r.tcpMesh))
	return nil
}

func measureLatency(s *setup, o options, r *report, logger *slog.Logger) error {
	d, err := latencies(s.direct, latencyRateRPS, o.latConns, o.latencyD)
	if err != nil {
		return fmt.Errorf("direct: %w", err)
	}
	var m []time.Duration
	r.latCost, err = meshCost(s.proxies, func() (int64, error) {
		var err error
		m, err = latencies(s.upstream, latencyRateRPS, o.latConns, o.latencyD)
		return int64(len(m)), err
	})
	if err != nil {
		return fmt.Errorf("mesh: %w", err)
	}
	for i, q := range quantiles {
		r.latDirect[i], r.latMesh[i] = quantile(d, q), quantile(m, q)
	}
	r.latRequests = len(m)
	logger.Info("latency at 1,000 rps", "direct_p99", r.latDirect[1], "mesh_p99", r.latMesh[1])
	return nil
}

// namedMem is one proxy's memory.
type namedMem struct {
	name string
	mem
}

// memory reads both proxies' RSS after the load; a proxied allocation
// has one proxy, so each is reported, the larger of the two is the
// figure the goal is judged on, and their sum is the path's total.
func (r *report) memory(ps proxies) error {
	for _, p := range ps {
		m, err := p.memory()
		if err != nil {
			return fmt.Errorf("memory of proxy %s: %w", p.name, err)
		}
		r.rss, r.peakRSS, r.anon = max(r.rss, m.rss), max(r.peakRSS, m.peak), max(r.anon, m.anon)
		r.each = append(r.each, namedMem{p.name, m})
		r.bothRSS += m.rss
		r.bothAnon += m.anon
	}
	return nil
}

// idleMemory reads the proxies' RSS once they listen, before any load.
func (r *report) idleMemory(ps proxies) error {
	for _, p := range ps {
		m, err := p.memory()
		if err != nil {
			return fmt.Errorf("memory of proxy %s: %w", p.name, err)
		}
		r.idleRSS, r.idleAnon = max(r.idleRSS, m.rss), max(r.idleAnon, m.anon)
	}
	return nil
}

// loadAverage is the first field of /proc/loadavg: on a shared machine
// it says how much the figures around it were disturbed.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "unknown"
	}
	return f[0]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// median is the median over rounds of get (the lower middle of an even
// count).
func median(rs []*report, get func(*report) float64) float64 {
	v := make([]float64, 0, len(rs))
	for _, r := range rs {
		v = append(v, get(r))
	}
	slices.Sort(v)
	return v[(len(v)-1)/2]
}

// print writes the figures: medians over rounds; ratios are the median of
// each round's ratio. r holds the memory and load figures.
func (r *report) print(w io.Writer, o options, rs []*report) {
	m := func(get func(*report) float64) float64 { return median(rs, get) }
	line := func(k string, v any) { fmt.Fprintf(w, "%s=%v\n", k, v) }
	f2 := func(v float64) string { return fmt.Sprintf("%.2f", v) }
	f3 := func(v float64) string { return fmt.Sprintf("%.3f", v) }
	line("cpus", runtime.NumCPU())
	line("loadavg_1m_before", r.loadBefore)
	line("loadavg_1m_after", r.loadAfter)
	line("rounds", len(rs))
	line("connections", o.conns)
	line("keepalive_direct_rps", int(m(func(x *report) float64 { return x.kaDirect })))
	line("keepalive_mesh_rps", int(m(func(x *report) float64 { return x.kaMesh })))
	line("keepalive_ratio", f2(m(func(x *report) float64 { return x.kaMesh / x.kaDirect })))
	line("keepalive_cpu_seconds_per_1000_requests", f3(m(func(x *report) float64 { return x.kaCost.cpu * 1000 })))
	costLines(line, "keepalive", func(x *report) cost { return x.kaCost }, m)
	line("keepalive_goal_met", m(func(x *report) float64 { return x.kaMesh / x.kaDirect }) >= goalKeepAlive)
	line("newconn_direct_rps", int(m(func(x *report) float64 { return x.ncDirect })))
	line("newconn_mesh_rps", int(m(func(x *report) float64 { return x.ncMesh })))
	line("newconn_ratio", f2(m(func(x *report) float64 { return x.ncMesh / x.ncDirect })))
	line("newconn_cpu_seconds_per_1000_requests", f3(m(func(x *report) float64 { return x.ncCost.cpu * 1000 })))
	costLines(line, "newconn", func(x *report) cost { return x.ncCost }, m)
	line("newconn_goal_met", m(func(x *report) float64 { return x.ncMesh / x.ncDirect }) >= goalNewConn)
	line("tcp_direct_MBps", int(m(func(x *report) float64 { return x.tcpDirect })))
	line("tcp_mesh_MBps", int(m(func(x *report) float64 { return x.tcpMesh })))
	line("tcp_ratio", f2(m(func(x *report) float64 { return x.tcpMesh / x.tcpDirect })))
	line("tcp_goal_met", m(func(x *report) float64 { return x.tcpMesh / x.tcpDirect }) >= goalTCP)
	line("latency_requests_per_round", rs[0].latRequests)
	lat := func(i int, mesh bool) float64 {
		return m(func(x *report) float64 {
			if mesh {
				return ms(x.latMesh[i])
			}
			return ms(x.latDirect[i])
		})
	}
	var addedP99 float64
	for i, name := range []string{"p50", "p99", "p999"} {
		added := m(func(x *report) float64 { return ms(x.latMesh[i] - x.latDirect[i]) })
		line("latency_direct_"+name+"_ms", f3(lat(i, false)))
		line("latency_mesh_"+name+"_ms", f3(lat(i, true)))
		line("latency_added_"+name+"_ms", f3(added))
		line("latency_"+name+"_ratio", f2(m(func(x *report) float64 { return float64(x.latMesh[i]) / float64(x.latDirect[i]) })))
		if name == "p99" {
			addedP99 = added
		}
	}
	line("latency_goal_met", addedP99 < ms(goalAddedP99))
	// At 1,000 requests per second, CPU-seconds per 1,000 requests is
	// vCPU per 1,000 rps; the goal (Istio's per-sidecar figure) is per
	// proxy, and every request crosses two.
	line("cpu_seconds_per_1000_requests_both_proxies", f3(m(func(x *report) float64 { return x.latCost.cpu * 1000 })))
	line("vcpu_per_1000_rps_per_proxy", f3(m(func(x *report) float64 { return x.latCost.cpu * 1000 })/2))
	costLines(line, "latency", func(x *report) cost { return x.latCost }, m)
	line("cpu_goal_met", m(func(x *report) float64 { return x.latCost.cpu * 1000 })/2 <= goalVCPUPer1k)
	line("idle_rss_per_proxy_MiB", f2(r.idleRSS))
	line("rss_per_proxy_MiB", f2(r.rss))
	line("peak_rss_per_proxy_MiB", f2(r.peakRSS))
	line("idle_private_rss_per_proxy_MiB", f2(r.idleAnon))
	line("private_rss_per_proxy_MiB", f2(r.anon))
	// One proxied allocation runs one proxy process: each one's figures,
	// then the two of the path together.
	for _, e := range r.each {
		k := strings.TrimPrefix(e.name, "bench-")
		line("proxy_"+k+"_rss_MiB", f2(e.rss))
		line("proxy_"+k+"_peak_rss_MiB", f2(e.peak))
		line("proxy_"+k+"_private_rss_MiB", f2(e.anon))
		line("proxy_"+k+"_file_rss_MiB", f2(e.file))
		line("proxy_"+k+"_pss_MiB", f2(e.pss))
	}
	line("both_proxies_rss_MiB", f2(r.bothRSS))
	line("both_proxies_private_rss_MiB", f2(r.bothAnon))
	// What a proxied allocation adds is the proxy's private memory; the
	// binary's pages in RSS are shared by all proxies and the agent. Both
	// verdicts are printed, on the larger proxy.
	line("rss_goal_met", r.anon < goalRSSMiB)
	line("rss_total_goal_met", r.rss < goalRSSMiB)
	line("peak_rss_total_goal_met", r.peakRSS < goalRSSMiB)
}

// costLines prints the system calls and context switches per request of
// both proxies: what a request costs on a machine where each is an exit
// to the hypervisor, and, unlike CPU time, hardly moved by other load.
func costLines(line func(string, any), name string, get func(*report) cost, m func(func(*report) float64) float64) {
	f1 := func(v float64) string { return fmt.Sprintf("%.1f", v) }
	line(name+"_syscalls_per_request", f1(m(func(x *report) float64 { return get(x).syscalls })))
	line(name+"_context_switches_per_request", f1(m(func(x *report) float64 { return get(x).switches })))
}
