package httpapi

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/jobspec"
	"github.com/roam-sh/roam/structs"
)

// DefaultMaxBodyBytes caps request bodies when Config.MaxBodyBytes is zero.
// Job files are small; 16 MiB leaves room for generated jobs with large
// templates while bounding what one request can make the agent buffer.
const DefaultMaxBodyBytes int64 = 16 << 20

// RPCer calls a server endpoint (structs.MethodJobRegister) with a structs
// request and a pointer to its reply. *server.Server satisfies it
// in-process, the agent's server pool over RPC; errors either returns are
// mapped to status codes by statusCode (their kind survives the wire), and
// a read ends when the context in its QueryOptions (the HTTP request's)
// does.
type RPCer interface {
	RPC(method string, args, reply any) error
}

// AgentInfo is what the agent tells about itself for /v1/agent/*. The agent
// implements it; every method must be safe for concurrent use.
type AgentInfo interface {
	// Self describes the agent: "config" (at least Region, Datacenter,
	// NodeName, Version), "member" (this agent as a server member) and
	// "stats".
	Self() (*api.AgentSelf, error)
	// Members lists the servers of the agent's region.
	Members() (*api.ServerMembers, error)
	// Health reports the health of each role the agent runs. Any role not ok
	// makes /v1/agent/health answer 500.
	Health() *api.AgentHealthResponse
}

// ClientAPI serves the client-side endpoints under /v1/client/ (allocation
// file system, logs, stats, exec, restart, signal) for the allocations of
// this agent's client (client/clientapi implements it; the agent wires it).
// Requests arrive with their full path (/v1/client/fs/logs/<alloc>); the
// body limit, panic recovery and request log already apply, and the
// response writer unwraps (http.ResponseController) for flushing and for
// the exec websocket's hijack.
type ClientAPI interface {
	http.Handler
	// HasAlloc reports whether this agent's client runs the allocation.
	// Requests about other allocations are forwarded to the HTTP API of the
	// node that runs them (see client.go).
	HasAlloc(allocID string) bool
}

// Config configures the HTTP API handler.
type Config struct {
	// RPC reaches the servers. Required.
	RPC RPCer
	// Agent answers /v1/agent/*; nil makes those paths answer 501.
	Agent AgentInfo
	// Client serves /v1/client/... for local allocations; nil on an agent
	// without a client, which still forwards requests about allocations to
	// their nodes.
	Client ClientAPI
	// Logger receives request logs (debug) and recovered panics (error).
	// Nil discards.
	Logger *slog.Logger
	// MaxBodyBytes caps request bodies (413 beyond); 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Browsers widens which web pages and Host names are served
	// (browsers.go); the zero value serves the agent's own origin, IP
	// literals and localhost.
	Browsers BrowserRules
	// Debug, when set, serves /debug/pprof/ (the agent's enable_debug)
	// behind the same middleware as the API.
	Debug http.Handler
	// JobParser evaluates job files for /v1/jobs/parse. The agent passes
	// a jobspec/sandbox.Runner so that a hostile file costs bounded work;
	// nil parses in the handler's goroutine, unbounded (tests only).
	JobParser JobParser
	// Connect is the node's side of the mesh for /v1/agent/connect/*; nil
	// (an agent without a client) makes those paths answer 501.
	Connect ConnectAgent
	// UI, when set, serves the web UI under /ui/ (the ui package); the
	// agent's root redirects there. It sits behind the same middleware as
	// the API, so the browser rules apply to its pages too.
	UI http.Handler
	// ForwardTLS, when set, is how requests are forwarded to other
	// agents' APIs, which are HTTPS (the agent's tls { http = true });
	// nil forwards over plain HTTP.
	ForwardTLS *tls.Config
}

// JobParser evaluates a job file. It must stop when ctx ends.
type JobParser interface {
	Parse(ctx context.Context, filename string, src []byte, opts jobspec.ParseOptions) (*structs.Job, error)
}

// inProcessParser is jobspec.Parse without any bound on its work.
type inProcessParser struct{}

func (inProcessParser) Parse(_ context.Context, filename string, src []byte, opts jobspec.ParseOptions) (*structs.Job, error) {
	return jobspec.Parse(filename, src, opts)
}

// handlers holds the configuration the endpoint methods use.
type handlers struct {
	rpc    RPCer
	agent  AgentInfo
	client ClientAPI
	logger *slog.Logger
	// proxy carries forwarded client requests to other nodes.
	proxy http.RoundTripper
	// forwardHTTPS: other agents' APIs are HTTPS (proxy speaks TLS).
	forwardHTTPS bool
	parser       JobParser
	// connect serves the node's mesh endpoints; nil without a client.
	connect ConnectAgent
	// restoring admits one snapshot restore at a time: each holds its
	// archive in memory (up to structs.MaxSnapshotSize).
	restoring chan struct{}
	// bodies shares encoded answers among blocking readers (bodycache.go).
	bodies *bodyCache
}

// New returns the HTTP API handler: the /v1 routes wrapped in the middleware
// chain (see middleware.go for the order).
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	h := &handlers{
		rpc: cfg.RPC, agent: cfg.Agent, client: cfg.Client, logger: cfg.Logger.With("component", "http"),
		proxy: newProxyTransport(cfg.ForwardTLS), forwardHTTPS: cfg.ForwardTLS != nil, parser: cfg.JobParser, connect: cfg.Connect,
		restoring: make(chan struct{}, 1), bodies: newBodyCache(),
	}
	if h.parser == nil {
		h.parser = inProcessParser{}
	}
	mux := http.NewServeMux()
	h.routes(mux)
	if cfg.Debug != nil {
		mux.Handle("/debug/pprof/", cfg.Debug)
	}
	if cfg.UI != nil {
		mux.Handle("GET /ui/", cfg.UI)
		mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusTemporaryRedirect))
	}
	return chain(mux, middlewares(h.logger, cfg.MaxBodyBytes, cfg.Browsers))
}
