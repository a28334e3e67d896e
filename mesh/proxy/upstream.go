package proxy

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Upstream is one destination the application reaches on a local port.
type Upstream struct {
	DestinationName      string
	DestinationNamespace string
	Datacenter           string
	LocalBindAddress     string
	LocalBindPort        int
	// ConnectTimeout bounds one connect attempt (0: 5 s, Consul's default).
	ConnectTimeout time.Duration
	// Protocol is the destination's (upstream config "protocol"); with
	// http the upstream's requests are counted and timed.
	Protocol Protocol `json:",omitempty"`
}

// Resolver finds the instances of an upstream's destination that may get
// traffic now: those whose sidecar proxy and application checks pass.
type Resolver interface {
	Instances(ctx context.Context, u Upstream) ([]Instance, error)
}

// maxAttempts is how many instances one application connection tries
// before it is closed: enough to step over an instance that just died
// without holding the application for long.
const maxAttempts = 3

// upstream serves one upstream listener.
type upstream struct {
	u        Upstream
	resolver Resolver
	pool     *pool
	bal      *balancer
	m        *metrics
	own      upstreamMetrics
	http     *httpMetrics // nil unless the upstream's protocol is http
	logger   *slog.Logger
	wg       sync.WaitGroup
}

func (up *upstream) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		up.wg.Add(1)
		go func() {
			defer up.wg.Done()
			up.handle(c)
		}()
	}
}

// handle connects c to an instance of the destination, trying the next
// one (round robin) when a connect fails.
func (up *upstream) handle(c net.Conn) {
	up.m.upstreamConns.Add(1)
	up.own.conns.Add(1)
	ctx := context.Background()
	insts, err := up.resolver.Instances(ctx, up.u)
	if err != nil || len(insts) == 0 {
		up.m.upstreamErrors.Add(1)
		up.own.errors.Add(1)
		up.logger.Debug("no instance of upstream", "destination", up.u.DestinationName, "error", err)
		c.Close()
		return
	}
	timeout := up.u.ConnectTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	for i, in := range up.bal.order(insts) {
		if i == maxAttempts {
			break
		}
		actx, cancel := context.WithTimeout(ctx, timeout)
		s, release, err := up.pool.open(actx, in.Addr, up.u.DestinationName, up.u.DestinationNamespace)
		cancel()
		if err != nil {
			up.m.upstreamErrors.Add(1)
			up.own.errors.Add(1)
			up.bal.failed(in.Addr)
			up.logger.Debug("upstream instance failed", "destination", up.u.DestinationName, "address", in.Addr, "error", err)
			continue
		}
		up.bal.succeeded(in.Addr)
		a, b := pipeObserved(c, s, up.http)
		release()
		up.m.upstreamBytes.Add(a + b)
		up.own.bytes.Add(a + b)
		return
	}
	c.Close()
}
