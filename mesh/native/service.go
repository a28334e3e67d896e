package native

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roam-sh/roam/mesh/agentapi"
	"github.com/roam-sh/roam/mesh/ca"
)

// Config says which service the application is and where its agent is.
type Config struct {
	// Service is the service name the application serves as (its leaf's
	// SPIFFE ID names it).
	Service string
	// Namespace of the service and of the services it dials ("" is the
	// agent's default).
	Namespace string
	// AgentAddr is the local agent's HTTP address, host:port or a URL
	// (default: $CONSUL_HTTP_ADDR, then $NOMAD_ADDR, then 127.0.0.1:4646).
	AgentAddr string
	// Token is the task's workload identity, which proves to the agent
	// that the allocation declares Service (default: $CONSUL_HTTP_TOKEN,
	// then $NOMAD_TOKEN).
	Token string
	// HTTPClient talks to the agent (default: a client without timeout,
	// as blocking queries last minutes).
	HTTPClient *http.Client
	Logger     *slog.Logger
	// RecycleGrace is how long a connection lives on once the roots no
	// longer trust its peer's chain (DefaultRecycleGrace when zero).
	RecycleGrace time.Duration
}

// Service is an application's identity in the mesh, kept current.
type Service struct {
	cfg    Config
	agent  *agentapi.Client
	logger *slog.Logger
	cancel context.CancelFunc
	done   sync.WaitGroup

	certs   *agentapi.Certs
	recycle *recycler

	next atomic.Uint64 // round robin over a destination's instances
}

// ErrNotReady is returned while the first leaf and roots are not loaded.
var ErrNotReady = agentapi.ErrNotReady

// New starts watching the service's leaf and the roots; Ready is closed
// once both arrived. Close stops the watches.
func New(cfg Config) (*Service, error) {
	if cfg.Service == "" {
		return nil, errors.New("native: a service name is required")
	}
	cfg.AgentAddr = firstSet(cfg.AgentAddr, os.Getenv("CONSUL_HTTP_ADDR"), os.Getenv("NOMAD_ADDR"), "127.0.0.1:4646")
	cfg.Token = firstSet(cfg.Token, os.Getenv("CONSUL_HTTP_TOKEN"), os.Getenv("NOMAD_TOKEN"))
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RecycleGrace <= 0 {
		cfg.RecycleGrace = DefaultRecycleGrace
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{cfg: cfg, agent: agentapi.New(cfg.AgentAddr, cfg.Token, cfg.HTTPClient),
		logger: cfg.Logger.With("component", "connect-native", "service", cfg.Service), cancel: cancel}
	s.certs = agentapi.NewCerts(s.agent, cfg.Service, s.query(), s.logger)
	s.recycle = newRecycler(cfg.RecycleGrace, s.logger)
	s.done.Add(2)
	go func() { defer s.done.Done(); s.certs.Run(ctx) }()
	go func() { defer s.done.Done(); s.watchRoots(ctx.Done()) }()
	return s, nil
}

// Ready is closed once the service has a leaf and the roots.
func (s *Service) Ready() <-chan struct{} { return s.certs.Ready() }

// Close stops the watches; connections already open are not touched
// (and no longer recycled on a roots change).
func (s *Service) Close() {
	s.cancel()
	s.done.Wait()
}

// current returns the leaf and roots for the next handshake.
func (s *Service) current() (*tls.Certificate, *ca.Roots, error) { return s.certs.Current() }

// query names the service's namespace on the agent's endpoints.
func (s *Service) query() url.Values {
	q := url.Values{}
	if s.cfg.Namespace != "" {
		q.Set("ns", s.cfg.Namespace)
	}
	return q
}

func firstSet(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
