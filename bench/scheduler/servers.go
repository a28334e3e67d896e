package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roam-sh/roam/bench/internal/agentproc"
	"github.com/roam-sh/roam/internal/msgrpc"
)

// serverSet is the servers of one run: one process, or N processes that
// form one Raft cluster over loopback TCP. Figures are summed over the set
// (the memory and CPU a cluster of this size costs) and kept per server.
type serverSet struct {
	procs  []*serverProc
	dir    string        // temporary dir holding every server's dir
	done   chan struct{} // closed when any server exits
	logger *slog.Logger
}

// startServers starts n servers from opts.binary, each in its own dir under
// a new temporary dir, and waits until every one of them names a leader.
func startServers(ctx context.Context, n int, opts serverOptions, logger *slog.Logger) (*serverSet, error) {
	dir, err := os.MkdirTemp("", "roam-bench-")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	s := &serverSet{dir: dir, done: make(chan struct{}), logger: logger}
	if err := s.start(ctx, n, opts); err != nil {
		s.stop(false)
		return nil, err
	}
	return s, nil
}

func (s *serverSet) start(ctx context.Context, n int, opts serverOptions) error {
	specs, err := serverSpecs(s.dir, n)
	if err != nil {
		return err
	}
	for _, spec := range specs {
		p, err := newServerProc(spec, opts, s.logger)
		if err != nil {
			return err
		}
		s.procs = append(s.procs, p)
	}
	go s.watch()
	for _, p := range s.procs {
		if err := p.waitLeader(ctx, 60*time.Second); err != nil {
			return fmt.Errorf("%s: %w", p.dir, err)
		}
	}
	return nil
}

// serverSpecs gives n servers free ports and, when n > 1, the same
// retry_join list: every server's RPC address.
func serverSpecs(dir string, n int) ([]serverSpec, error) {
	ports, err := agentproc.FreePorts(3 * n)
	if err != nil {
		return nil, err
	}
	specs := make([]serverSpec, n)
	var join []string
	for i := range specs {
		specs[i] = serverSpec{
			name:   fmt.Sprintf("bench-server%d", i+1),
			dir:    filepath.Join(dir, fmt.Sprintf("server%d", i+1)),
			ports:  ports[3*i : 3*i+3],
			expect: n,
		}
		join = append(join, fmt.Sprintf("127.0.0.1:%d", specs[i].ports[1]))
	}
	if n > 1 {
		for i := range specs {
			specs[i].join = join
		}
	}
	return specs, nil
}

// watch closes s.done when the first server exits.
func (s *serverSet) watch() {
	cases := make(chan struct{}, len(s.procs))
	for _, p := range s.procs {
		go func() { <-p.done; cases <- struct{}{} }()
	}
	<-cases
	close(s.done)
}

// rpcAddrs are the servers' RPC addresses, in order.
func (s *serverSet) rpcAddrs() []string {
	out := make([]string, len(s.procs))
	for i, p := range s.procs {
		out[i] = p.rpcAddr
	}
	return out
}

// leader is the server that leads now (the first one if none answers):
// where profiles are worth taking, since it schedules and applies plans.
func (s *serverSet) leader(ctx context.Context) *serverProc {
	addr, err := getLeader(ctx, "http://"+s.procs[0].httpAddr+"/v1/status/leader")
	if err == nil {
		for _, p := range s.procs {
			if p.rpcAddr == addr {
				return p
			}
		}
	}
	return s.procs[0]
}

// setUsage is a set's memory and CPU, summed, and each server's.
type setUsage struct {
	serverUsage
	each []serverUsage
}

func (s *serverSet) setUsage() (setUsage, error) {
	u := setUsage{each: make([]serverUsage, len(s.procs))}
	for i, p := range s.procs {
		e, err := p.usage()
		if err != nil {
			return u, err
		}
		u.each[i] = e
		u.mem.RSS += e.mem.RSS
		u.mem.Peak += e.mem.Peak
		u.cpu += e.cpu
	}
	return u, nil
}

// usage is the set's memory and CPU, summed.
func (s *serverSet) usage() (serverUsage, error) {
	u, err := s.setUsage()
	return u.serverUsage, err
}

// memory is the set's resident memory, summed.
func (s *serverSet) memory() (memory, error) {
	u, err := s.usage()
	return u.mem, err
}

func memOf(us []serverUsage) []memory {
	out := make([]memory, len(us))
	for i, u := range us {
		out[i] = u.mem
	}
	return out
}

// exited reports whether any server is gone.
func (s *serverSet) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// logTail is the last n lines of each server that exited (of every server
// when none did).
func (s *serverSet) logTail(n int) string {
	var b strings.Builder
	someExited := s.exited()
	for _, p := range s.procs {
		if someExited && !p.exited() {
			continue
		}
		fmt.Fprintf(&b, "== %s\n%s\n", p.logPath, p.logTail(n))
	}
	return b.String()
}

// stop terminates every server (in parallel: a follower's SIGTERM should
// not wait on the leader's) and removes the temporary dir unless keep.
func (s *serverSet) stop(keep bool) {
	var wg sync.WaitGroup
	for _, p := range s.procs {
		wg.Go(p.terminate)
	}
	wg.Wait()
	if keep {
		s.logger.Info("kept the servers' directory", "dir", s.dir)
		return
	}
	if err := os.RemoveAll(s.dir); err != nil {
		s.logger.Warn("remove temp dir", "dir", s.dir, "error", err)
	}
}

// spreadRPC sends each call to the next server in turn, so with several
// servers most calls reach a follower, which forwards writes and default
// reads to the leader (what clients and CLIs spread over a cluster cause).
type spreadRPC struct {
	pool  *msgrpc.Pool
	addrs []string
	next  *atomic.Uint64
}

func newSpreadRPC(pool *msgrpc.Pool, addrs []string) spreadRPC {
	return spreadRPC{pool: pool, addrs: addrs, next: new(atomic.Uint64)}
}

func (r spreadRPC) RPC(method string, args, reply any) error {
	addr := r.addrs[(r.next.Add(1)-1)%uint64(len(r.addrs))]
	return r.pool.RPC(addr, method, args, reply)
}
