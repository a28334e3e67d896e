// Package dnsbench measures how many DNS queries per second a roam agent
// answers for a 10-instance SRV answer, against a minimal miekg/dns server
// answering the same message in the same run, and prints name=value lines.
// bench/dns runs it alone; bench/catalog runs it after its watchers, so
// one run reports every figure of the catalog's benchmark.
//
// Both servers run as child processes on loopback; only their PIDs are
// signalled. The baseline is the calling program re-executed with
// ServeBaselineArg: its main must hand that to ServeBaseline. The load
// generator is the same for both: concurrency UDP sockets, each sending
// its next query when the last answer arrived.
package dnsbench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/roam-sh/roam/bench/internal/agentproc"
	"github.com/roam-sh/roam/internal/msgrpc"
	"github.com/roam-sh/roam/structs"
)

const (
	instances = 10
	question  = "web.service.consul."
	goalRatio = 0.5
)

// ServeBaselineArg is the first argument of the re-executed baseline
// server; a program running Run passes os.Args[2] to ServeBaseline.
const ServeBaselineArg = "-serve-baseline"

// Options of one run.
type Options struct {
	Roam        string        // roam binary ("": build ./cmd/roam)
	Duration    time.Duration // load time per server per round
	Concurrency int           // UDP sockets sending queries at once
	Rounds      int           // rounds, alternating baseline and roam
}

// DefaultOptions are the figures docs/dns.md reports.
func DefaultOptions() Options {
	return Options{Duration: 3 * time.Second, Concurrency: 8, Rounds: 2}
}

// Run starts an agent and the baseline, loads both and prints the figures.
func Run(o Options, stdout io.Writer, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "roam-bench-dns-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	agent, err := agentproc.Start(ctx, dir, o.Roam, "bench-dns", "", logger)
	if err != nil {
		return err
	}
	defer agent.Stop()
	if err := register(ctx, agent.RPCAddr, logger); err != nil {
		return err
	}
	answer, err := firstAnswer(ctx, agent.DNSAddr)
	if err != nil {
		return err
	}
	base, err := startBaseline(ctx, dir, answer)
	if err != nil {
		return err
	}
	defer base.stop()
	var roamQ, baseQ int64
	var roamT, baseT time.Duration
	for range o.Rounds {
		n, d := load(base.addr, o)
		baseQ, baseT = baseQ+n, baseT+d
		n, d = load(agent.DNSAddr, o)
		roamQ, roamT = roamQ+n, roamT+d
	}
	if roamQ == 0 || baseQ == 0 {
		return fmt.Errorf("no whole answers received (roam %d, baseline %d)", roamQ, baseQ)
	}
	roamRate, baseRate := float64(roamQ)/roamT.Seconds(), float64(baseQ)/baseT.Seconds()
	ratio := roamRate / baseRate
	fmt.Fprintf(stdout, "dns_srv_instances=%d\ndns_concurrency=%d\ndns_answer_bytes=%d\n", instances, o.Concurrency, len(answer))
	fmt.Fprintf(stdout, "dns_roam_qps=%.0f\ndns_baseline_qps=%.0f\ndns_ratio=%.2f\ndns_goal_ratio=%.2f\ndns_goal_met=%v\n",
		roamRate, baseRate, ratio, goalRatio, ratio >= goalRatio)
	return nil
}

// child is a server process of the benchmark.
type child struct {
	cmd *exec.Cmd
}

func (c *child) stop() { agentproc.StopCmd(c.cmd) }

// register upserts the service's instances through the server's RPC, as
// the client of a simulated node would (catalog writes need its SecretID).
// The node heartbeats until ctx ends.
func register(ctx context.Context, rpcAddr string, logger *slog.Logger) error {
	pool := msgrpc.NewPool(logger)
	sim, err := agentproc.StartSimNode(ctx, pool, rpcAddr, "web", []string{"web"})
	if err != nil {
		pool.Close()
		return err
	}
	go func() { <-ctx.Done(); sim.Stop(); pool.Close() }()
	var regs []*structs.ServiceRegistration
	for i := range instances {
		regs = append(regs, sim.Instance(&structs.ServiceRegistration{
			ID: fmt.Sprintf("web-%d", i), ServiceName: "web", Datacenter: "dc1",
			Address: fmt.Sprintf("10.0.0.%d", i+1), Port: 20000 + i,
		}))
	}
	var reply structs.GenericResponse
	return pool.RPC(rpcAddr, structs.MethodServiceRegistrationUpsert, &structs.ServiceRegistrationUpsertRequest{Services: regs, WriteRequest: sim.Write()}, &reply)
}

// firstAnswer asks roam once and returns its packed answer, checked to hold
// every instance: the baseline serves these bytes.
func firstAnswer(ctx context.Context, addr string) ([]byte, error) {
	c := &mdns.Client{Timeout: 5 * time.Second}
	m := new(mdns.Msg).SetQuestion(question, mdns.TypeSRV)
	var last error
	for try := 0; try < 50 && ctx.Err() == nil; try++ {
		r, _, err := c.Exchange(m, addr)
		if err == nil && len(r.Answer) == instances && !r.Truncated {
			r.Compress = true
			return r.Pack()
		}
		last = err
		if err == nil {
			last = fmt.Errorf("answer has %d records (truncated %v), want %d", len(r.Answer), r.Truncated, instances)
		}
		time.Sleep(100 * time.Millisecond) // the agent may still be starting its DNS
	}
	return nil, fmt.Errorf("roam's first SRV answer: %w", last)
}

type baselineProc struct {
	child
	addr string
}

// startBaseline re-executes this program as a minimal miekg/dns server that
// answers every query with the same stored message.
func startBaseline(ctx context.Context, dir string, answer []byte) (*baselineProc, error) {
	path := filepath.Join(dir, "answer.bin")
	if err := os.WriteFile(path, answer, 0o644); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, ServeBaselineArg, path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start baseline: %w", err)
	}
	p := &baselineProc{child: child{cmd}}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("baseline address: %w", err)
	}
	p.addr = strings.TrimSpace(line)
	return p, nil
}

// ServeBaseline is the child: a miekg/dns server with one handler that
// copies the stored answer, setting the query's ID and question.
func ServeBaseline(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	answer := new(mdns.Msg)
	if err := answer.Unpack(b); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(pc.LocalAddr().String())
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := answer.Copy()
		m.Id, m.Question, m.Compress = r.Id, r.Question, true
		_ = w.WriteMsg(m)
	})}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		_ = srv.Shutdown()
	}()
	if err := srv.ActivateAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// load sends queries from o.Concurrency UDP sockets for o.Duration and
// returns the answers received that held every instance, and the time.
func load(addr string, o Options) (int64, time.Duration) {
	var ok atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(o.Duration)
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := mdns.Dial("udp", addr)
			if err != nil {
				return
			}
			defer conn.Close()
			m := new(mdns.Msg).SetQuestion(question, mdns.TypeSRV)
			for time.Now().Before(deadline) {
				m.Id = mdns.Id()
				_ = conn.SetDeadline(time.Now().Add(time.Second))
				if err := conn.WriteMsg(m); err != nil {
					continue
				}
				r, err := conn.ReadMsg()
				if err == nil && r.Id == m.Id && len(r.Answer) == instances {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return ok.Load(), time.Since(start)
}
