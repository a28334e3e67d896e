// Command mesh measures roam's sidecar proxies against direct connections
// in one run and prints name=value lines: keep-alive HTTP requests per
// second, a new connection per request, TCP throughput, latency added at
// 1,000 requests per second (open loop), the proxies' CPU-seconds per 1,000
// requests and their memory, each with the goal as *_goal_met.
//
//	go run ./bench/mesh [-roam bin] [-duration 5s] [-conns 50]
//
// Two `roam connect proxy` processes (built from ./cmd/roam, or -roam) run
// as the client agent runs them, on loopback: the caller's proxy with an
// upstream, and the destination's proxy in front of a small Go HTTP and
// TCP server. Their leaves and roots come from mesh/ca through the
// Consul-shaped agent endpoints, which this program serves (see agent.go).
// Only the PIDs it started are signalled. docs/mesh.md#benchmarks has
// figures and what they mean.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/roam-sh/roam/bench/internal/agentproc"
)

// The goals, as fractions of direct and absolute bounds.
const (
	goalKeepAlive  = 0.50 // of direct requests/s
	goalNewConn    = 0.33 // of direct requests/s
	goalTCP        = 0.40 // of direct throughput
	goalAddedP99   = time.Millisecond
	goalVCPUPer1k  = 0.1 // vCPU per 1,000 requests/s, per proxy
	goalRSSMiB     = 15.0
	latencyRateRPS = 1000
)

type options struct {
	roam     string
	duration time.Duration
	latencyD time.Duration
	conns    int
	latConns int
	keep     bool
	rounds   int
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench-mesh", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.roam, "roam", "", "roam binary (default: build ./cmd/roam)")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of each closed-loop and throughput run")
	fs.DurationVar(&o.latencyD, "latency-duration", 10*time.Second, "length of each 1,000 rps open-loop run")
	fs.IntVar(&o.conns, "conns", 50, "connections of the closed loops")
	fs.IntVar(&o.latConns, "latency-conns", 50, "keep-alive connections the open loop spreads its requests over")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds of every measurement; medians are printed")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (the proxies' files and logs)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.rounds < 1 || o.conns < 1 || o.latConns < 1 {
		fmt.Fprintln(stderr, "bench-mesh: -rounds, -conns and -latency-conns must be at least 1")
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if err := bench(o, stdout, logger); err != nil {
		fmt.Fprintln(stderr, "bench-mesh:", err)
		return 1
	}
	return 0
}

// setup is everything a run needs: the application, the agent endpoints
// and the two proxies.
type setup struct {
	app      *app
	agent    *meshAgent
	proxies  proxies
	direct   string // the application
	upstream string // the caller's upstream listener
}

func (s *setup) close() {
	s.proxies.stop()
	if s.agent != nil {
		s.agent.close()
	}
	if s.app != nil {
		s.app.close()
	}
}

func start(ctx context.Context, o options, dir string, logger *slog.Logger) (*setup, error) {
	bin := o.roam
	if bin == "" {
		var err error
		if bin, err = agentproc.Build(ctx, dir, logger); err != nil {
			return nil, err
		}
	}
	ports, err := agentproc.FreePorts(3)
	if err != nil {
		return nil, err
	}
	s := &setup{}
	if s.app, err = startApp(); err != nil {
		return nil, err
	}
	if s.agent, err = startMeshAgent(ports[1]); err != nil {
		s.close()
		return nil, err
	}
	cf, sf := sidecarFiles(s.agent.addr(), s.app.addr(), ports[0], ports[1], ports[2])
	dst, err := startProxy(ctx, dir, bin, sf)
	if err != nil {
		s.close()
		return nil, err
	}
	s.proxies = append(s.proxies, dst)
	src, err := startProxy(ctx, dir, bin, cf)
	if err != nil {
		s.close()
		return nil, err
	}
	s.proxies = append(s.proxies, src)
	s.direct = s.app.addr()
	s.upstream = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2]))
	return s, nil
}

func bench(o options, stdout io.Writer, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "roam-bench-mesh-")
	if err != nil {
		return err
	}
	if o.keep {
		logger.Info("keeping", "dir", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	s, err := start(ctx, o, dir, logger)
	if err != nil {
		return err
	}
	defer s.close()
	r := &report{loadBefore: loadAverage()}
	if err := r.idleMemory(s.proxies); err != nil {
		return err
	}
	// Warm up both paths (the proxies' session between them, the
	// resolver's cache, the Go runtimes) before anything counts.
	if _, err := keepAlive(s.upstream, o.conns, time.Second); err != nil {
		return fmt.Errorf("warm-up through the mesh: %w", err)
	}
	steps := []struct {
		name string
		fn   func(*setup, options, *report, *slog.Logger) error
	}{
		// Keep-alive first: the figure the others are read against.
		{"keep-alive", measureKeepAlive},
		{"new connection per request", measureNewConn},
		{"TCP throughput", measureTCP},
		// Latency and CPU at a fixed rate last, on a warm, quiet machine.
		{"latency at 1,000 rps", measureLatency},
	}
	// Rounds, each direct then mesh back to back, so that both sides of
	// a ratio share the machine's mood; the medians are printed.
	var rounds []*report
	for i := range o.rounds {
		rr := &report{}
		for _, st := range steps {
			logger.Info("measuring", "round", i+1, "what", st.name)
			if err := st.fn(s, o, rr, logger); err != nil {
				return fmt.Errorf("%s: %w", st.name, err)
			}
		}
		rounds = append(rounds, rr)
	}
	if err := r.memory(s.proxies); err != nil {
		return err
	}
	r.loadAfter = loadAverage()
	r.print(stdout, o, rounds)
	return nil
}
