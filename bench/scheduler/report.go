package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/pprof"
	"time"
)

// report is what a successful run prints.
type report struct {
	opts       options
	results    results
	idle, peak memory
	serverCPU  time.Duration
	benchCPU   time.Duration
	stats      *wireStats
	verified   int
	rollout    []rolloutResult
}

func (r *report) placementsPerSecond() int {
	if r.results.toPlaced <= 0 {
		return 0
	}
	return int(float64(r.opts.allocs) / r.results.toPlaced.Seconds())
}

func (r *report) print(w io.Writer) {
	o, res, s := r.opts, r.results, r.stats
	conns := o.conns
	if conns == 0 || conns > o.nodes {
		conns = o.nodes
	}
	fmt.Fprintf(w, "roam scheduling benchmark: %d nodes (%d connections), %d jobs, %d allocations\n", o.nodes, conns, o.jobs, o.allocs)
	fmt.Fprintf(w, "  first submit → last placed:   %s\n", round(res.toPlaced))
	fmt.Fprintf(w, "  first submit → last running:  %s\n", round(res.toRunning))
	fmt.Fprintf(w, "  job submit → all placed:      p50 %s  p99 %s  max %s\n", round(res.jobP50), round(res.jobP99), round(res.jobMax))
	fmt.Fprintf(w, "  server RSS idle (nodes up):   %s\n", mib(r.idle.RSS))
	fmt.Fprintf(w, "  server RSS peak (VmHWM):      %s  (peak/idle %.2f)\n", mib(r.peak.Peak), float64(r.peak.Peak)/float64(r.idle.RSS))
	fmt.Fprintf(w, "  CPU during the run:           server %s, simulated nodes %s\n", round(r.serverCPU), round(r.benchCPU))
	fmt.Fprintf(w, "  server-side running allocs:   %d\n", r.verified)
	fmt.Fprintf(w, "  wire: %d registers, %d heartbeats, %d watch replies (%d with nothing new), %d Alloc.GetAllocs, %d Node.UpdateAlloc, %d errors\n",
		s.registers.Load(), s.heartbeats.Load(), s.watchReturns.Load(), s.idleReturns.Load(),
		s.getAllocs.Load(), s.updateAllocs.Load(), s.errors.Load())
	printRollout(w, o.allocs, r.rollout)
	fmt.Fprintf(w, "placements_per_second=%d\n", r.placementsPerSecond())
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
