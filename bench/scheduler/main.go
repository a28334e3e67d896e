package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/roam-sh/roam/bench/internal/agentproc"
	"github.com/roam-sh/roam/internal/msgrpc"
	"github.com/roam-sh/roam/structs"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// options are the command-line flags.
type options struct {
	nodes, jobs, allocs int
	roam                string
	keep                bool
	timeout             time.Duration
	conns               int
	submitters          int
	settle              time.Duration
	pprof               bool
	serverLogLevel      string
	cpuProfile          string
	selfProfile         string
	heapProfile         string
	profileFor          time.Duration
	rollout             bool
	maxParallel         int
	servers             []int // one run per entry, in order (-servers, -compare)
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("scheduler", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.nodes, "nodes", 1000, "simulated client nodes")
	fs.IntVar(&o.jobs, "jobs", 100, "service jobs to submit")
	fs.IntVar(&o.allocs, "allocs", 10000, "allocations in total, spread over the jobs")
	fs.StringVar(&o.roam, "roam", "", "roam binary to run (default: go build ./cmd/roam into the temp dir)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temp dir (data dir, config, server log)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up (exit 1) unless everything is placed and running this long after the nodes start registering")
	fs.IntVar(&o.conns, "conns", 0, "TCP connections the simulated nodes share (0: one per node, as real clients)")
	fs.IntVar(&o.submitters, "submitters", 4, "goroutines submitting jobs concurrently")
	fs.DurationVar(&o.settle, "settle", 2*time.Second, "wait after the nodes registered before measuring idle RSS")
	fs.StringVar(&o.serverLogLevel, "server-log-level", "WARN", "the server's log_level (its log is server.log in the temp dir, see -keep)")
	fs.BoolVar(&o.pprof, "pprof", false, "start the server with enable_debug (pprof on its HTTP port)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the server, from the first submit, to this file (implies -pprof)")
	fs.StringVar(&o.selfProfile, "selfprofile", "", "write a CPU profile of this process (the simulated nodes) during the run to this file")
	fs.StringVar(&o.heapProfile, "heapprofile", "", "write a heap profile of the server, taken when everything runs, to this file (implies -pprof)")
	fs.DurationVar(&o.profileFor, "profile-for", 10*time.Second, "length of the -cpuprofile")
	fs.BoolVar(&o.rollout, "rollout", false, "after the first placement, roll every job out to a new version through a deployment, then again without one (max_parallel = 0), and report both")
	fs.IntVar(&o.maxParallel, "max-parallel", 50, "the roll-out's update.max_parallel (with -rollout)")
	serverList := fs.String("servers", "1", "servers in the cluster under test (1 to 7); a comma-separated list runs the benchmark once per entry, e.g. 1,3")
	compare := fs.Bool("compare", false, "run with 1 server and then with 3, and print both and their ratio (-servers 1,3)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if *compare {
		*serverList = "1,3"
	}
	var errs []error
	var err error
	if o.servers, err = parseServers(*serverList); err != nil {
		errs = append(errs, err)
	}
	if o.nodes < 1 || o.jobs < 1 || o.allocs < o.jobs {
		errs = append(errs, fmt.Errorf("need -nodes ≥ 1, -jobs ≥ 1 and -allocs ≥ -jobs (got %d, %d, %d)", o.nodes, o.jobs, o.allocs))
	}
	if o.rollout && o.maxParallel < 1 {
		errs = append(errs, errors.New("-max-parallel must be ≥ 1"))
	}
	if o.conns < 0 || o.submitters < 1 {
		errs = append(errs, errors.New("-conns must be ≥ 0 and -submitters ≥ 1"))
	}
	o.pprof = o.pprof || o.cpuProfile != "" || o.heapProfile != ""
	return o, errors.Join(errs...)
}

// parseServers reads -servers: cluster sizes from 1 to 7, comma-separated.
func parseServers(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 7 {
			return nil, fmt.Errorf("-servers: %q is not a cluster size from 1 to 7", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// run is the whole benchmark, once per cluster size; it returns the exit
// code.
func run(args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "scheduler:", err)
		}
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sopts := serverOptions{binary: opts.roam, debug: opts.pprof, logLevel: opts.serverLogLevel}
	if sopts.binary == "" {
		dir, err := os.MkdirTemp("", "roam-bench-bin-")
		if err != nil {
			fmt.Fprintln(stderr, "scheduler:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		if sopts.binary, err = agentproc.Build(ctx, dir, logger); err != nil {
			fmt.Fprintln(stderr, "scheduler:", err)
			return 1
		}
	}
	var reps []*report
	for _, n := range opts.servers {
		rep, err := runOnce(ctx, opts, n, sopts, logger)
		if err != nil {
			fmt.Fprintf(stderr, "scheduler: %d server(s): %v\n", n, err)
			return 1
		}
		rep.print(stdout) // now, so a later run's failure keeps this one's figures
		reps = append(reps, rep)
	}
	printAll(stdout, reps)
	return 0
}

// runOnce starts a cluster of n servers, runs the benchmark on it and
// stops it.
func runOnce(ctx context.Context, opts options, n int, sopts serverOptions, logger *slog.Logger) (*report, error) {
	logger.Info("starting servers", "servers", n)
	srv, err := startServers(ctx, n, sopts, logger)
	if err != nil {
		return nil, err
	}
	defer srv.stop(opts.keep)
	rep, err := benchmark(ctx, opts, srv, logger)
	if err != nil && srv.exited() {
		err = fmt.Errorf("%w\nserver log (last lines):\n%s", err, srv.logTail(30))
	}
	return rep, err
}

// cluster is the simulated nodes and their connections.
type cluster struct {
	nodes  []*simNode
	pools  []*msgrpc.Pool
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startCluster starts the simulated nodes, spread over opts.conns pooled
// connections (one per node when 0) and over the servers: node i talks to
// server i mod len(addrs), as clients spread over the servers they know.
func startCluster(ctx context.Context, opts options, addrs []string, track *tracker, stats *wireStats, logger *slog.Logger) *cluster {
	conns := opts.conns
	if conns == 0 || conns > opts.nodes {
		conns = opts.nodes
	}
	c := &cluster{}
	ctx, c.cancel = context.WithCancel(ctx)
	quiet := slog.New(slog.DiscardHandler)
	for range conns {
		c.pools = append(c.pools, msgrpc.NewPool(quiet))
	}
	for i := range opts.nodes {
		rpc := poolRPC{pool: c.pools[i%conns], addr: addrs[i%len(addrs)]}
		n := newSimNode(simNodeSpec(i), rpc, track, stats, logger)
		c.nodes = append(c.nodes, n)
		n.run(ctx, &c.wg)
	}
	return c
}

// waitRegistered waits until every node registered once.
func (c *cluster) waitRegistered(ctx context.Context) error {
	for _, n := range c.nodes {
		select {
		case <-n.registered:
		case <-ctx.Done():
			return fmt.Errorf("wait for node registrations: %w", ctx.Err())
		}
	}
	return nil
}

// stop ends the nodes' loops: closing the pools fails their pending calls.
func (c *cluster) stop() {
	c.cancel()
	for _, p := range c.pools {
		p.Close()
	}
	c.wg.Wait()
}

// benchmark registers the nodes, measures the idle server, submits the
// jobs, waits until every allocation is placed and running, and checks with
// the server that they all run.
func benchmark(ctx context.Context, opts options, srv *serverSet, logger *slog.Logger) (*report, error) {
	jobs, ids, counts := makeJobs(opts)
	track := newTracker(ids, counts)
	rep := &report{opts: opts, servers: len(srv.procs), stats: &wireStats{}}
	deadline, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	c := startCluster(deadline, opts, srv.rpcAddrs(), track, rep.stats, logger)
	defer c.stop()
	idle, err := settle(deadline, opts, c, srv, logger)
	if err != nil {
		return nil, err
	}
	rep.idle, rep.idleEach = idle.mem, memOf(idle.each)
	if err := measure(deadline, opts, srv, jobs, track, idle, rep, logger); err != nil {
		return nil, err
	}
	if opts.heapProfile != "" {
		if err := fetchTo(ctx, "http://"+srv.leader(ctx).httpAddr+"/debug/pprof/heap", opts.heapProfile); err != nil {
			logger.Error("heap profile", "error", err)
		}
	}
	if rep.verified, err = verifyRunning(newSpreadRPC(c.pools[0], srv.rpcAddrs()), ids); err != nil {
		return nil, err
	}
	if rep.verified != track.want {
		return nil, fmt.Errorf("server lists %d running allocations of the benchmark's jobs, want %d", rep.verified, track.want)
	}
	if opts.rollout {
		pool := msgrpc.NewPool(slog.New(slog.DiscardHandler))
		defer pool.Close()
		if rep.rollout, err = rollout(deadline, opts, srv, newSpreadRPC(pool, srv.rpcAddrs()), jobs, track, logger); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// settle waits for every node to register and for the server to go quiet,
// and returns the server's idle usage: the run's baseline.
func settle(ctx context.Context, opts options, c *cluster, srv *serverSet, logger *slog.Logger) (setUsage, error) {
	start := time.Now()
	if err := c.waitRegistered(ctx); err != nil {
		return setUsage{}, err
	}
	logger.Info("nodes registered", "nodes", opts.nodes, "took", time.Since(start).Round(time.Millisecond))
	sleep(ctx, opts.settle)
	return srv.setUsage()
}

// measure runs the jobs and fills the report's figures.
func measure(ctx context.Context, opts options, srv *serverSet, jobs []*structs.Job, track *tracker, idle setUsage, rep *report, logger *slog.Logger) error {
	selfBefore := selfCPU()
	stopProfile, err := startSelfProfile(opts.selfProfile)
	if err != nil {
		return err
	}
	err = placeAndRun(ctx, opts, srv, jobs, track, logger)
	stopProfile()
	if err != nil {
		return err
	}
	rep.benchCPU = selfCPU() - selfBefore
	after, err := srv.setUsage()
	if err != nil {
		return err
	}
	rep.peak, rep.peakEach, rep.serverCPU = after.mem, memOf(after.each), after.cpu-idle.cpu
	rep.results = track.results()
	rep.retries = track.progress().retries
	return nil
}

// selfCPU is the CPU time this process (the simulated nodes and the
// submitters) used so far; it shares the machine with the server.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func makeJobs(opts options) ([]*structs.Job, []string, []int) {
	counts := jobCounts(opts.jobs, opts.allocs)
	jobs := make([]*structs.Job, len(counts))
	ids := make([]string, len(counts))
	for i, n := range counts {
		jobs[i] = benchJob(i, n)
		ids[i] = jobs[i].ID
	}
	return jobs, ids, counts
}

// placeAndRun submits the jobs and waits for every allocation to be placed
// and running, printing progress every second.
func placeAndRun(ctx context.Context, opts options, srv *serverSet, jobs []*structs.Job, track *tracker, logger *slog.Logger) error {
	pool := msgrpc.NewPool(slog.New(slog.DiscardHandler))
	defer pool.Close()
	if opts.cpuProfile != "" {
		// The profile runs its full length even when the run ends first.
		var wg sync.WaitGroup
		defer wg.Wait()
		wg.Go(func() {
			captureCPUProfile(context.WithoutCancel(ctx), srv.leader(ctx).httpAddr, opts.cpuProfile, opts.profileFor, logger)
		})
	}
	submitErr := make(chan error, 1)
	go func() {
		submitErr <- submitJobs(ctx, newSpreadRPC(pool, srv.rpcAddrs()), jobs, opts.submitters, track)
	}()
	return waitDone(ctx, srv, track, submitErr, logger)
}

// waitDone waits for the tracker to see everything running.
func waitDone(ctx context.Context, srv *serverSet, track *tracker, submitErr <-chan error, logger *slog.Logger) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	start := time.Now()
	for {
		select {
		case <-track.allRunning:
			return nil
		case err := <-submitErr:
			if err != nil {
				return err
			}
			logger.Info("all jobs submitted", "took", time.Since(start).Round(time.Millisecond))
		case <-srv.done:
			return errors.New("a server exited during the run")
		case <-ctx.Done():
			p := track.progress()
			return fmt.Errorf("not done within the timeout: %d of %d placed, %d running: %w", p.placed, p.want, p.running, ctx.Err())
		case <-tick.C:
			p := track.progress()
			logger.Info("progress", "elapsed", time.Since(start).Round(time.Second), "placed", p.placed, "running", p.running, "want", p.want)
		}
	}
}

// verifyRunning asks the server (Alloc.List) how many allocations of the
// benchmark's jobs it records as desired run and client status running.
func verifyRunning(rpc rpcer, jobIDs []string) (int, error) {
	want := map[string]bool{}
	for _, id := range jobIDs {
		want[id] = true
	}
	req := &structs.AllocListRequest{QueryOptions: structs.QueryOptions{Region: structs.DefaultRegion, Namespace: structs.DefaultNamespace}}
	var resp structs.AllocListResponse
	if err := rpc.RPC(structs.MethodAllocList, req, &resp); err != nil {
		return 0, fmt.Errorf("verify allocations: %w", err)
	}
	n := 0
	for _, a := range resp.Allocations {
		if want[a.JobID] && a.DesiredStatus == structs.AllocDesiredStatusRun && a.ClientStatus == structs.AllocClientStatusRunning {
			n++
		}
	}
	return n, nil
}
