package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
	"golang.org/x/net/netutil"
)

// queryTimeout bounds one query's catalog read or forward.
const queryTimeout = 5 * time.Second

// Server answers DNS from a Catalog. One Server serves any number of
// socket pairs (the agent's own address, and one inside each bridge-mode
// allocation's namespace) with the same handler.
type Server struct {
	cfg    Config
	zones  []string
	ans    *answerer
	fwd    *forwarder
	logger *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc

	mu sync.Mutex
	// stops holds each serving socket pair's stop, by a serial number, so
	// a pair stopped on its own (an allocation's namespace gone) is
	// forgotten.
	stops    map[int]func()
	serial   int
	udpAddr  net.Addr
	shutdown bool
}

// New returns a server that serves nothing until Listen or Serve.
func New(cfg Config, cat Catalog, logger *slog.Logger) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	recursors := make([]string, 0, len(cfg.Recursors))
	for _, r := range cfg.Recursors {
		a, _ := recursorAddr(r) // validated above
		recursors = append(recursors, a)
	}
	zones := []string{mdns.CanonicalName(cfg.Domain)}
	if cfg.AltDomain != "" {
		zones = append(zones, mdns.CanonicalName(cfg.AltDomain))
	}
	logger = logger.With("component", "dns")
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg: cfg, zones: zones, logger: logger, ctx: ctx, cancel: cancel, stops: map[int]func(){},
		ans: &answerer{cat: cat, dc: cfg.Datacenter, serviceTTL: ttl(cfg.ServiceTTL), nodeTTL: ttl(cfg.NodeTTL)},
		fwd: newForwarder(recursors, cfg.RecursorTimeout, cfg.MaxForwards, logger),
	}, nil
}

func ttl(d time.Duration) uint32 { return uint32(d / time.Second) }

// Listen binds udp and tcp on addr (port 0 picks one port free for both)
// and serves them until Shutdown.
func (s *Server) Listen(addr string) error {
	pc, ln, err := listenPair(addr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.udpAddr == nil {
		s.udpAddr = pc.LocalAddr()
	}
	s.mu.Unlock()
	_, err = s.Serve(pc, ln)
	return err
}

// listenPair binds udp, then tcp on the same port; with port 0 it retries
// when another program holds the tcp port the kernel gave udp.
func listenPair(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dns address %q: %w", addr, err)
	}
	for try := 0; ; try++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dns listen udp %s: %w", addr, err)
		}
		p := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
		ln, err := net.Listen("tcp", net.JoinHostPort(host, p))
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || try == 10 {
			return nil, nil, fmt.Errorf("dns listen tcp %s: %w", net.JoinHostPort(host, p), err)
		}
	}
}

// Addr is the address the first Listen bound ("127.0.0.1:8600"), or "".
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.udpAddr == nil {
		return ""
	}
	return s.udpAddr.String()
}

// Serve answers on an already open socket pair (either may be nil) until
// the returned stop or Shutdown; the server owns and closes them. TCP
// connections beyond MaxTCPConns wait in the backlog; miekg/dns closes
// idle ones (8 s) and slow readers (2 s).
func (s *Server) Serve(pc net.PacketConn, ln net.Listener) (stop func(), err error) {
	var srvs []*mdns.Server
	if pc != nil {
		srvs = append(srvs, &mdns.Server{PacketConn: pc, Handler: s})
	}
	if ln != nil {
		srvs = append(srvs, &mdns.Server{Listener: netutil.LimitListener(ln, s.cfg.MaxTCPConns), Handler: s})
	}
	for _, srv := range srvs {
		if err := s.start(srv); err != nil {
			stopAll(srvs)
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		stopAll(srvs)
		return nil, errors.New("dns server is shut down")
	}
	s.serial++
	id := s.serial
	var once sync.Once
	stopOnce := func() { once.Do(func() { stopAll(srvs) }) }
	s.stops[id] = stopOnce
	return func() {
		s.mu.Lock()
		delete(s.stops, id)
		s.mu.Unlock()
		stopOnce()
	}, nil
}

// start runs srv and returns once it serves, so a stop right after cannot
// find it not started (and leak its socket).
func (s *Server) start(srv *mdns.Server) error {
	started := make(chan struct{})
	failed := make(chan error, 1)
	srv.NotifyStartedFunc = func() { close(started) }
	go func() {
		if err := srv.ActivateAndServe(); err != nil {
			failed <- err
		}
	}()
	select {
	case <-started:
		return nil
	case err := <-failed:
		return fmt.Errorf("dns serve: %w", err)
	}
}

func stopAll(srvs []*mdns.Server) {
	for _, srv := range srvs {
		_ = srv.Shutdown()
	}
}

// Shutdown stops every socket pair and cancels queries in flight.
func (s *Server) Shutdown() {
	s.mu.Lock()
	stops := s.stops
	s.stops, s.shutdown = map[int]func(){}, true
	s.mu.Unlock()
	s.cancel()
	for _, stop := range stops {
		stop()
	}
}

// ServeDNS answers one query; it is miekg/dns's Handler.
func (s *Server) ServeDNS(w mdns.ResponseWriter, r *mdns.Msg) {
	network := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		network = "tcp"
	}
	ctx, cancel := context.WithTimeout(s.ctx, queryTimeout)
	defer cancel()
	if m := s.handle(ctx, r, network); m != nil {
		if err := w.WriteMsg(m); err != nil {
			s.logger.Debug("write answer", "error", err)
		}
	}
}

// handle returns the reply to r, as asked over network ("udp" or "tcp").
func (s *Server) handle(ctx context.Context, r *mdns.Msg, network string) *mdns.Msg {
	m := new(mdns.Msg)
	switch {
	case r.Response:
		return nil // never answer an answer: no loops between servers
	case r.Opcode != mdns.OpcodeQuery:
		return m.SetRcode(r, mdns.RcodeNotImplemented)
	case len(r.Question) != 1:
		return m.SetRcodeFormatError(r)
	}
	q := r.Question[0]
	zone := inZone(q.Name, s.zones)
	if zone == "" {
		return s.forward(ctx, r, network)
	}
	m.SetReply(r)
	m.Compress = true
	m.RecursionAvailable = len(s.fwd.recursors) > 0
	if q.Qclass != mdns.ClassINET && q.Qclass != mdns.ClassANY {
		m.Rcode = mdns.RcodeRefused
		return m
	}
	s.ans.answer(ctx, m, q, zone)
	fit(m, r, network)
	return m
}

// forward answers a name outside the zones from the recursors: REFUSED
// when there are none, SERVFAIL when none answered or too many forwards
// are in flight.
func (s *Server) forward(ctx context.Context, r *mdns.Msg, network string) *mdns.Msg {
	if len(s.fwd.recursors) == 0 {
		return new(mdns.Msg).SetRcode(r, mdns.RcodeRefused)
	}
	resp, err := s.fwd.forward(ctx, r, network)
	if err != nil {
		m := new(mdns.Msg).SetRcode(r, mdns.RcodeServerFailure)
		m.RecursionAvailable = true
		return m
	}
	resp.Id = r.Id
	fit(resp, r, network)
	return resp
}

// fit cuts m to what the client can take: over UDP, 512 bytes or the EDNS0
// buffer it advertised; over TCP, the largest message. Answers that do not
// fit are left out and the truncate bit is set, so a client retries over
// TCP and gets every instance (Consul cuts UDP answers to 3 silently).
func fit(m, r *mdns.Msg, network string) {
	size := mdns.MaxMsgSize
	opt := r.IsEdns0()
	if network == "udp" {
		size = mdns.MinMsgSize
		if opt != nil && int(opt.UDPSize()) > size {
			size = int(opt.UDPSize())
		}
	}
	if opt != nil && m.IsEdns0() == nil {
		m.SetEdns0(uint16(min(size, mdns.MaxMsgSize)), false)
	}
	answers, ns := len(m.Answer), len(m.Ns)
	m.Truncate(size)
	if len(m.Answer) == answers && len(m.Ns) == ns {
		// Only additional records (SRV targets' addresses) were left out:
		// the answer is whole, and a truncate bit would send every client
		// to TCP for nothing (RFC 2181 9).
		m.Truncated = false
	}
}
