package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"time"
)

// report is what a successful run prints.
type report struct {
	opts       options
	servers    int // servers in the cluster under test
	results    results
	idle, peak memory // summed over the servers
	// idleEach and peakEach are each server's, in the order started.
	idleEach, peakEach []memory
	serverCPU          time.Duration
	benchCPU           time.Duration
	stats              *wireStats
	verified           int
	retries            int
	rollout            []rolloutResult
}

func (r *report) placementsPerSecond() int {
	if r.results.toPlaced <= 0 {
		return 0
	}
	return int(float64(r.opts.allocs) / r.results.toPlaced.Seconds())
}

// printAll ends the output (each run's report was printed as it finished)
// with name=value lines: for
// one run the figures as they are (placements_per_second last); for
// several, each run's figures with a _servers<N> suffix and the ratio of
// each run's placements per second to the first run's.
func printAll(w io.Writer, reps []*report) {
	suffix := func(r *report) string { return "" }
	if len(reps) > 1 {
		suffix = func(r *report) string { return fmt.Sprintf("_servers%d", r.servers) }
	}
	for _, r := range reps {
		r.printValues(w, suffix(r))
	}
	base := reps[0]
	for _, r := range reps[1:] {
		ratio := 0.0
		if p := base.placementsPerSecond(); p > 0 {
			ratio = float64(r.placementsPerSecond()) / float64(p)
		}
		fmt.Fprintf(w, "placements_per_second_ratio_servers%d_to_%d=%.2f\n", r.servers, base.servers, ratio)
	}
}

func (r *report) print(w io.Writer) {
	o, res, s := r.opts, r.results, r.stats
	conns := o.conns
	if conns == 0 || conns > o.nodes {
		conns = o.nodes
	}
	fmt.Fprintf(w, "roam scheduling benchmark: %d server(s), %d nodes (%d connections), %d jobs, %d allocations\n", r.servers, o.nodes, conns, o.jobs, o.allocs)
	fmt.Fprintf(w, "  first submit → last placed:   %s  (%d placements/s)\n", round(res.toPlaced), r.placementsPerSecond())
	fmt.Fprintf(w, "  first submit → last running:  %s\n", round(res.toRunning))
	fmt.Fprintf(w, "  job submit → all placed:      p50 %s  p99 %s  max %s\n", round(res.jobP50), round(res.jobP99), round(res.jobMax))
	fmt.Fprintf(w, "  server RSS idle (nodes up):   %s%s\n", mib(r.idle.RSS), perServer(r.idleEach, func(m memory) int64 { return m.RSS }))
	fmt.Fprintf(w, "  server RSS peak (VmHWM):      %s  (peak/idle %.2f)%s\n", mib(r.peak.Peak), float64(r.peak.Peak)/float64(r.idle.RSS), perServer(r.peakEach, func(m memory) int64 { return m.Peak }))
	fmt.Fprintf(w, "  CPU during the run:           servers %s, simulated nodes %s\n", round(r.serverCPU), round(r.benchCPU))
	fmt.Fprintf(w, "  server-side running allocs:   %d\n", r.verified)
	fmt.Fprintf(w, "  wire: %d registers, %d heartbeats, %d watch replies (%d with nothing new), %d Alloc.GetAllocs, %d Node.UpdateAlloc, %d errors\n",
		s.registers.Load(), s.heartbeats.Load(), s.watchReturns.Load(), s.idleReturns.Load(),
		s.getAllocs.Load(), s.updateAllocs.Load(), s.errors.Load())
	if r.retries > 0 {
		fmt.Fprintf(w, "  registrations sent again:     %d (the cluster had no leader for a moment)\n", r.retries)
	}
	printRollout(w, o.allocs, r.rollout)
}

// printValues prints the run's name=value lines, each name ending in
// suffix; placements_per_second comes last.
func (r *report) printValues(w io.Writer, suffix string) {
	fmt.Fprintf(w, "server_rss_idle_MiB%s=%.1f\n", suffix, float64(r.idle.RSS)/(1<<20))
	fmt.Fprintf(w, "server_rss_peak_MiB%s=%.1f\n", suffix, float64(r.peak.Peak)/(1<<20))
	for i, m := range r.peakEach {
		fmt.Fprintf(w, "server%d_rss_peak_MiB%s=%.1f\n", i+1, suffix, float64(m.Peak)/(1<<20))
	}
	fmt.Fprintf(w, "server_cpu_seconds%s=%.2f\n", suffix, r.serverCPU.Seconds())
	fmt.Fprintf(w, "placements_per_second%s=%d\n", suffix, r.placementsPerSecond())
}

// perServer lists each server's figure when there are several.
func perServer(ms []memory, f func(memory) int64) string {
	if len(ms) < 2 {
		return ""
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = mib(f(m))
	}
	return "  per server: " + strings.Join(parts, ", ")
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// captureCPUProfile fetches a CPU profile of the server from its pprof
// endpoint (enable_debug) and writes it to path.
func captureCPUProfile(ctx context.Context, httpAddr, path string, d time.Duration, logger *slog.Logger) {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", httpAddr, int(d.Seconds()))
	if err := fetchTo(ctx, url, path); err != nil {
		logger.Error("cpu profile", "error", err)
		return
	}
	logger.Info("wrote server cpu profile", "path", path)
}

func fetchTo(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: status %d", url, resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// startSelfProfile starts profiling this process into path ("" does
// nothing) and returns the function that stops it.
func startSelfProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("self profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("self profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
