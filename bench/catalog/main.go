// Command catalog measures how fast a change to the service catalog reaches
// its watchers: it loads a server-only roam agent with 10,000 service
// instances, starts 1,000 blocking watchers of one service through Nomad's
// API (GET /v1/service/:name, what Prometheus and consul-template's
// nomadService read) and 1,000 template-style watchers through Consul's
// (GET /v1/health/service/:name?passing, what consul-template's service
// function reads), deregisters one instance of that service and reports
// when 50, 99 and 100% of each kind of watcher saw it. Then, unless -dns
// is false, it measures DNS queries per second for a 10-instance SRV answer
// against a minimal miekg/dns server in the same run (bench/internal/dnsbench,
// what bench/dns runs alone). It ends with name=value lines.
//
//	go run ./bench/catalog [-roam bin] [-instances 10000] [-watchers 1000] [-dns=false]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/roam-sh/roam/bench/internal/agentproc"
	"github.com/roam-sh/roam/bench/internal/dnsbench"
	"github.com/roam-sh/roam/internal/msgrpc"
	"github.com/roam-sh/roam/structs"
)

// goal is the issue's: every watcher has seen the change within a second.
const goal = time.Second

type options struct {
	roam      string
	instances int
	services  int
	watchers  int
	dns       bool
	profile   string
}

func main() {
	// The DNS part's baseline server is this program re-executed.
	if len(os.Args) == 3 && os.Args[1] == dnsbench.ServeBaselineArg {
		os.Exit(dnsbench.ServeBaseline(os.Args[2]))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench-catalog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.roam, "roam", "", "roam binary (default: build ./cmd/roam)")
	fs.IntVar(&o.instances, "instances", 10000, "service instances in the catalog")
	fs.IntVar(&o.services, "services", 100, "services the instances are spread over")
	fs.IntVar(&o.watchers, "watchers", 1000, "watchers of each kind (Nomad API, Consul API)")
	fs.BoolVar(&o.dns, "dns", true, "also measure DNS queries per second against a miekg/dns baseline")
	fs.StringVar(&o.profile, "cpuprofile", "", "write the agent's CPU profile of the seconds after the deregistration to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if err := bench(o, stdout, logger); err != nil {
		fmt.Fprintln(stderr, "bench-catalog:", err)
		return 1
	}
	if o.dns {
		d := dnsbench.DefaultOptions()
		d.Roam = o.roam
		if err := dnsbench.Run(d, stdout, logger); err != nil {
			fmt.Fprintln(stderr, "bench-catalog: dns:", err)
			return 1
		}
	}
	return 0
}

func bench(o options, stdout io.Writer, logger *slog.Logger) error {
	raiseFileLimit(logger)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "roam-bench-catalog-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// Every watcher holds a connection from 127.0.0.1: lift the per-client
	// cap, which exists to stop one client exhausting the agent.
	extra := fmt.Sprintf("limits {\n  http_max_conns_per_client = %d\n}\n", 2*o.watchers+100)
	if o.profile != "" {
		extra += "enable_debug = true\n"
	}
	agent, err := agentproc.Start(ctx, dir, o.roam, "bench-catalog", extra, logger)
	if err != nil {
		return err
	}
	defer agent.Stop()
	pool := msgrpc.NewPool(logger)
	defer pool.Close()
	perService := o.instances / o.services
	names := make([]string, o.services)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%d", i)
	}
	sim, err := agentproc.StartSimNode(ctx, pool, agent.RPCAddr, "bench-catalog", names)
	if err != nil {
		return err
	}
	defer sim.Stop()
	if err := load(pool, agent.RPCAddr, sim, o.services, perService); err != nil {
		return err
	}
	base := "http://" + agent.HTTPAddr
	kinds := []watchKind{
		{name: "nomad_api", url: base + "/v1/service/svc-0", index: "X-Nomad-Index"},
		{name: "consul_api", url: base + "/v1/health/service/svc-0?passing", index: "X-Consul-Index"},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2*o.watchers + 10, MaxConnsPerHost: 0}}
	var all []*watcherSet
	for _, k := range kinds {
		ws, err := startWatchers(ctx, client, k, o.watchers, perService)
		if err != nil {
			return err
		}
		all = append(all, ws)
	}
	for _, ws := range all {
		if err := ws.waitBlocked(ctx); err != nil {
			return err
		}
	}
	profiled := make(chan error, 1)
	if o.profile != "" {
		go func() { profiled <- saveProfile(ctx, "http://"+agent.HTTPAddr, o.profile) }()
		time.Sleep(100 * time.Millisecond) // the profile's request is in before the change
	}
	agentCPU0, selfCPU0 := procCPU(agent.Pid()), selfCPU()
	start := time.Now()
	var reply structs.GenericResponse
	if err := pool.RPC(agent.RPCAddr, structs.MethodServiceRegistrationDelete,
		&structs.ServiceRegistrationDeleteRequest{IDs: []string{instanceID(0, 0)}, WriteRequest: sim.Write()}, &reply); err != nil {
		return fmt.Errorf("deregister: %w", err)
	}
	fmt.Fprintf(stdout, "catalog_instances=%d\ncatalog_watched_instances=%d\n", o.services*perService, perService)
	for _, ws := range all {
		lat := ws.wait(ctx, start)
		ws.report(stdout, lat)
	}
	// Both processes share the machine's cores: what each spent from the
	// change until the last watcher saw it says which one the figures wait on.
	fmt.Fprintf(stdout, "catalog_agent_cpu_ms=%d\ncatalog_watchers_cpu_ms=%d\n",
		(procCPU(agent.Pid()) - agentCPU0).Milliseconds(), (selfCPU() - selfCPU0).Milliseconds())
	if o.profile != "" {
		if err := <-profiled; err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
	}
	return nil
}

// saveProfile writes the agent's CPU profile of the next few seconds (the
// watchers' wake-up) to path.
func saveProfile(ctx context.Context, base, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/pprof/profile?seconds=8", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /debug/pprof/profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func instanceID(svc, i int) string { return fmt.Sprintf("svc-%d-%d", svc, i) }

// load registers services×perService instances in batches, as the
// simulated node's client would.
func load(pool *msgrpc.Pool, addr string, sim *agentproc.SimNode, services, perService int) error {
	var batch []*structs.ServiceRegistration
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var reply structs.GenericResponse
		err := pool.RPC(addr, structs.MethodServiceRegistrationUpsert, &structs.ServiceRegistrationUpsertRequest{Services: batch, WriteRequest: sim.Write()}, &reply)
		batch = nil
		return err
	}
	for s := range services {
		for i := range perService {
			batch = append(batch, sim.Instance(&structs.ServiceRegistration{
				ID: instanceID(s, i), ServiceName: fmt.Sprintf("svc-%d", s), Datacenter: "dc1", Provider: structs.ServiceProviderNomad,
				Address: fmt.Sprintf("10.%d.%d.%d", s/250, s%250, i%250+1), Port: 20000 + i,
			}))
			if len(batch) == 500 {
				if err := flush(); err != nil {
					return fmt.Errorf("register instances: %w", err)
				}
			}
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("register instances: %w", err)
	}
	return nil
}

type watchKind struct{ name, url, index string }

// watcherSet is n watchers of one kind, each blocking on the service until
// it answers with one instance fewer.
type watcherSet struct {
	kind    watchKind
	blocked sync.WaitGroup
	done    chan time.Time
	errs    chan error
}

func startWatchers(ctx context.Context, c *http.Client, k watchKind, n, want int) (*watcherSet, error) {
	_, index, err := fetch(ctx, c, k, 0)
	if err != nil {
		return nil, fmt.Errorf("%s first read: %w", k.name, err)
	}
	ws := &watcherSet{kind: k, done: make(chan time.Time, n), errs: make(chan error, n)}
	ws.blocked.Add(n)
	for range n {
		go ws.watch(ctx, c, index, want)
	}
	return ws, nil
}

// watch blocks from index until the answer has fewer than want instances.
// Blocked is marked once its first request is sent: the server holds it
// from then on, so the deregistration that follows reaches a real waiter.
func (ws *watcherSet) watch(ctx context.Context, c *http.Client, index uint64, want int) {
	first := true
	for ctx.Err() == nil {
		n, next, err := fetch(ctx, c, ws.kind, index, func() {
			if first {
				first = false
				ws.blocked.Done()
			}
		})
		if err != nil {
			ws.errs <- err
			return
		}
		if n < want {
			ws.done <- time.Now()
			return
		}
		index = next
	}
}

func (ws *watcherSet) waitBlocked(ctx context.Context) error {
	ch := make(chan struct{})
	go func() { ws.blocked.Wait(); close(ch) }()
	select {
	case <-ch:
		// The requests are written; give the server a moment to take them
		// all into its wait: a watcher still on its way answers at once
		// anyway (its index is older), so this only sharpens the figure.
		time.Sleep(500 * time.Millisecond)
		return nil
	case err := <-ws.errs:
		return fmt.Errorf("%s watcher: %w", ws.kind.name, err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait collects every watcher's time to see the change.
func (ws *watcherSet) wait(ctx context.Context, start time.Time) []time.Duration {
	var lat []time.Duration
	for len(lat) < cap(ws.done) {
		select {
		case t := <-ws.done:
			lat = append(lat, t.Sub(start))
		case err := <-ws.errs:
			fmt.Fprintf(os.Stderr, "%s watcher failed: %v\n", ws.kind.name, err)
			lat = append(lat, -1)
		case <-ctx.Done():
			return lat
		}
	}
	return lat
}

func (ws *watcherSet) report(w io.Writer, lat []time.Duration) {
	failed := 0
	var ok []time.Duration
	for _, d := range lat {
		if d < 0 {
			failed++
			continue
		}
		ok = append(ok, d)
	}
	slices.Sort(ok)
	pct := func(p float64) float64 {
		if len(ok) == 0 {
			return -1
		}
		i := min(len(ok)-1, int(p*float64(len(ok))+0.999)-1)
		return float64(ok[max(i, 0)].Microseconds()) / 1000
	}
	n := ws.kind.name
	fmt.Fprintf(w, "%s_watchers=%d\n%s_failed=%d\n", n, len(lat), n, failed)
	fmt.Fprintf(w, "%s_p50_ms=%.1f\n%s_p99_ms=%.1f\n%s_p100_ms=%.1f\n", n, pct(0.5), n, pct(0.99), n, pct(1))
	fmt.Fprintf(w, "%s_goal_met=%v\n", n, failed == 0 && len(ok) > 0 && ok[len(ok)-1] <= goal)
}

// fetch reads the watched service once (blocking from index when not 0)
// and returns its instance count and the answer's index. sent runs once the
// request has been written.
func fetch(ctx context.Context, c *http.Client, k watchKind, index uint64, sent ...func()) (int, uint64, error) {
	url := k.url
	if index > 0 {
		sep := "?"
		if slices.Contains([]byte(url), '?') {
			sep = "&"
		}
		url += sep + "index=" + strconv.FormatUint(index, 10) + "&wait=60s"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	if len(sent) > 0 {
		go func() {
			// http.Client gives no hook for "written"; the request is on the
			// wire well before a blocking answer comes back.
			time.Sleep(50 * time.Millisecond)
			sent[0]()
		}()
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, 0, fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	var list []json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return 0, 0, fmt.Errorf("decode %s: %w", url, err)
	}
	next, _ := strconv.ParseUint(resp.Header.Get(k.index), 10, 64)
	return len(list), next, nil
}

// raiseFileLimit lifts the soft limit on open files to the hard one: 2,000
// watchers need 2,000 sockets here and as many in the agent (a child,
// which inherits the limit).
func raiseFileLimit(logger *slog.Logger) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		logger.Warn("cannot raise the open files limit", "error", err)
	}
}

// selfCPU is this process's user and system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is another process's user and system CPU time so far, from
// /proc/pid/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
