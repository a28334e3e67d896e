package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/roam-sh/roam/internal/connlimit"
	"github.com/roam-sh/roam/mesh/ca"
)

// ListenFunc opens a TCP listener (inside the allocation's namespace in
// production, see netns.Listen).
type ListenFunc func(ctx context.Context, network, address string) (net.Listener, error)

// Config is one sidecar proxy: the service it fronts and its listeners.
type Config struct {
	// Service is the service this proxy fronts (the destination that
	// intentions are checked against).
	Service string
	// PublicAddr is host:port of the mTLS listener.
	PublicAddr string
	// LocalAddr is host:port of the application behind the proxy.
	LocalAddr string
	// Protocol is the service's (`proxy { config { protocol } }`); with
	// http the inbound requests are counted and timed.
	Protocol  Protocol
	Upstreams []Upstream
	Expose    []ExposePath

	Certs      Certs
	Authorizer Authorizer
	Resolver   Resolver
	Ejection   Ejection

	// Listen opens every listener; DialLocal reaches the application (and
	// expose targets), Dial remote proxies.
	Listen    ListenFunc
	DialLocal DialFunc
	Dial      DialFunc
	Logger    *slog.Logger

	// MaxConnsPerPeer caps the connections one peer address may hold open
	// on the public listener, multiplexed sessions and plain connections
	// alike; more are refused (0: defaultMaxConnsPerPeer; negative: no
	// cap).
	MaxConnsPerPeer int

	// Inbound bounds the connections callers make the proxy open to its
	// application: caps per session, per calling service and in all, and
	// an idle timeout (zero fields: the defaults, see InboundLimits).
	Inbound InboundLimits

	// RecycleGrace is how long a connection whose peer the roots no
	// longer trust may finish its streams before it is closed (0: 10 s).
	RecycleGrace time.Duration

	// pingEvery is the mux sessions' keepalive interval (0: muxPingEvery);
	// tests shorten it to see a frozen peer noticed quickly.
	pingEvery time.Duration
}

// defaultMaxConnsPerPeer is the public listener's cap per peer address.
// A caller's host holds one session per calling proxy (one per
// allocation, two for a while after a leaf renewal) and a plain
// connection per application connection of a connect-native caller or
// of a proxy of an earlier version: 128 leaves room for that, and bounds
// what one host holding a leaf the intentions allow can make this proxy
// hold: file descriptors, and 128 session windows (2 GiB) of buffered
// bytes at the very worst, where there was no bound before.
const defaultMaxConnsPerPeer = 128

// Proxy is a running sidecar proxy.
type Proxy struct {
	cfg    Config
	m      *metrics
	pool   *pool
	in     *inbound
	ups    []*upstream
	lns    []net.Listener
	http   []*http.Server
	ready  chan struct{}
	logger *slog.Logger
}

// New checks cfg; Run opens the listeners.
func New(cfg Config) (*Proxy, error) {
	if cfg.Service == "" || cfg.PublicAddr == "" || cfg.LocalAddr == "" {
		return nil, errors.New("proxy: service, public and local addresses are required")
	}
	if cfg.Certs == nil || cfg.Authorizer == nil || cfg.Resolver == nil {
		return nil, errors.New("proxy: certs, authorizer and resolver are required")
	}
	if cfg.Listen == nil {
		var lc net.ListenConfig
		cfg.Listen = lc.Listen
	}
	var d net.Dialer
	if cfg.DialLocal == nil {
		cfg.DialLocal = d.DialContext
	}
	if cfg.Dial == nil {
		cfg.Dial = d.DialContext
	}
	if cfg.MaxConnsPerPeer == 0 {
		cfg.MaxConnsPerPeer = defaultMaxConnsPerPeer
	}
	if cfg.RecycleGrace <= 0 {
		cfg.RecycleGrace = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &metrics{}
	p := &Proxy{cfg: cfg, m: m, pool: newPool(cfg.Certs, cfg.Dial, m, cfg.pingEvery), ready: make(chan struct{}), logger: cfg.Logger}
	p.in = &inbound{service: cfg.Service, local: cfg.LocalAddr, dialLocal: cfg.DialLocal, tlsCfg: serverTLS(cfg.Certs),
		authz: cfg.Authorizer, m: m, logger: cfg.Logger, pingEvery: cfg.pingEvery, conns: map[ca.ServiceID]map[io.Closer]*inConn{},
		gate: newGate(cfg.Inbound)}
	if cfg.Protocol == ProtocolHTTP {
		p.in.http = &httpMetrics{}
	}
	bal := newBalancer(cfg.Ejection, nil)
	for _, u := range cfg.Upstreams {
		up := &upstream{u: u, resolver: cfg.Resolver, pool: p.pool, bal: bal, m: m,
			logger: cfg.Logger.With("upstream", u.DestinationName)}
		if u.Protocol == ProtocolHTTP {
			up.http = &httpMetrics{}
		}
		p.ups = append(p.ups, up)
	}
	return p, nil
}

// Ready is closed once every listener is open.
func (p *Proxy) Ready() <-chan struct{} { return p.ready }

// PublicAddr is the public listener's address once Ready (its real port
// when the config asked for port 0).
func (p *Proxy) PublicAddr() net.Addr { return p.lns[0].Addr() }

// UpstreamAddr is the address of the i-th upstream's listener once Ready.
func (p *Proxy) UpstreamAddr(i int) net.Addr { return p.lns[1+i].Addr() }

// ExposeAddr is the address of the i-th expose path's listener once Ready.
func (p *Proxy) ExposeAddr(i int) net.Addr { return p.lns[1+len(p.ups)+i].Addr() }

// Stats reads the proxy's counters.
func (p *Proxy) Stats() Stats {
	st := p.m.stats()
	st.HTTP = p.in.http.stats()
	if len(p.ups) > 0 {
		st.Upstreams = make(map[string]UpstreamStats, len(p.ups))
	}
	for _, up := range p.ups {
		u := st.Upstreams[up.u.DestinationName]
		u.Conns += up.own.conns.Load()
		u.Bytes += up.own.bytes.Load()
		u.Errors += up.own.errors.Load()
		u.HTTP = up.http.stats()
		st.Upstreams[up.u.DestinationName] = u
	}
	return st
}

// Run opens every listener, serves until ctx ends, then drains: listeners
// close at once (no new connection), open connections get up to drain to
// finish, and whatever is left is closed.
func (p *Proxy) Run(ctx context.Context, drain time.Duration) error {
	if err := p.listen(ctx); err != nil {
		p.closeListeners()
		return err
	}
	close(p.ready)
	changes := p.cfg.Authorizer.Changes()
	var certChanges <-chan struct{} // nil: certificates apply at the next handshake only
	if w, ok := p.cfg.Certs.(CertsWatcher); ok {
		certChanges = w.Changes()
	}
	for {
		select {
		case <-changes:
			p.in.recheck()
			continue
		case <-certChanges:
			p.recycle()
			continue
		case <-ctx.Done():
		}
		break
	}
	p.closeListeners()
	p.waitDrain(drain)
	return nil
}

// recycle moves the proxy onto its current certificates (see
// CertsWatcher): sessions made with an older leaf take no new streams,
// and connections with a peer the roots no longer trust are closed after
// the grace period.
func (p *Proxy) recycle() {
	leaf, roots, err := p.cfg.Certs.Current()
	if err != nil || len(leaf.Certificate) == 0 {
		return
	}
	retired, untrusted := p.pool.rotate(leaf.Certificate[0], roots, p.cfg.RecycleGrace)
	inbound := p.in.rotate(roots, p.cfg.RecycleGrace)
	if retired+inbound > 0 {
		p.logger.Info("certificates changed", "sessions_retired", retired, "untrusted_sessions", untrusted, "untrusted_inbound", inbound)
	}
}

// refusedPeer counts connections refused for the per-peer cap with the
// handshake errors (what the refused caller sees) and warns, at most once
// a minute, naming the address: a connect-native caller with a large
// connection pool meets the cap, and nothing else would say why.
func (p *Proxy) refusedPeer() func(string) {
	var mu sync.Mutex
	var last time.Time
	return func(client string) {
		p.m.handshakeError()
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < time.Minute {
			return
		}
		last = time.Now()
		p.logger.Warn("connection refused: this peer holds the most connections allowed", "peer", client, "max", p.cfg.MaxConnsPerPeer)
	}
}

// listen opens the public, upstream and expose listeners, in that order.
func (p *Proxy) listen(ctx context.Context) error {
	ln, err := p.cfg.Listen(ctx, "tcp", p.cfg.PublicAddr)
	if err != nil {
		return fmt.Errorf("public listener: %w", err)
	}
	cl := connlimit.New(ln, p.cfg.MaxConnsPerPeer)
	cl.OnRefuse = p.refusedPeer()
	ln = cl
	p.lns = append(p.lns, ln)
	go p.in.serve(ln)
	for _, up := range p.ups {
		host := up.u.LocalBindAddress
		if host == "" {
			host = "127.0.0.1"
		}
		addr := net.JoinHostPort(host, itoa(up.u.LocalBindPort))
		ln, err := p.cfg.Listen(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("upstream %s listener: %w", up.u.DestinationName, err)
		}
		p.lns = append(p.lns, ln)
		go up.serve(ln)
	}
	for _, e := range p.cfg.Expose {
		ln, err := p.cfg.Listen(ctx, "tcp", net.JoinHostPort("0.0.0.0", itoa(e.ListenerPort)))
		if err != nil {
			return fmt.Errorf("expose %s listener: %w", e.Path, err)
		}
		p.lns = append(p.lns, ln)
		srv := newExposeServer(e, p.cfg.DialLocal, p.m)
		p.http = append(p.http, srv)
		go srv.Serve(ln)
	}
	return nil
}

func (p *Proxy) closeListeners() {
	for _, ln := range p.lns {
		ln.Close()
	}
	for _, s := range p.http {
		s.Close() // closes its listener too
	}
}

// waitDrain waits up to d for open connections, then closes them.
func (p *Proxy) waitDrain(d time.Duration) {
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		wg.Add(1 + len(p.ups))
		go func() { defer wg.Done(); p.in.wg.Wait() }()
		for _, up := range p.ups {
			go func() { defer wg.Done(); up.wg.Wait() }()
		}
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		p.logger.Info("drain timed out; closing open connections")
	}
	p.in.closeAll()
	p.pool.close()
}

func itoa(n int) string { return strconv.Itoa(n) }
