package agent

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/roam-sh/roam/dns"
	"github.com/roam-sh/roam/internal/backoff"
	"github.com/roam-sh/roam/structs"
)

// Bounds of the DNS catalog cache.
const (
	// dnsCacheMaxServices bounds the services watched at once: queries for
	// random names must not make the agent hold one blocking query each.
	// Past it the least recently asked service stops being watched.
	dnsCacheMaxServices = 1024
	// dnsCacheIdle is how long a service nobody asks about stays watched.
	dnsCacheIdle = 10 * time.Minute
	// dnsBlockingWait is each blocking query's wait.
	dnsBlockingWait = 5 * time.Minute
)

// dnsCatalog is the agent's dns.Catalog: one blocking query per service
// asked about (and one for the node list) keeps a copy in memory, so a DNS
// query costs no RPC once its service is known. On a server agent the RPCs
// are in-process calls that read the local state (stale reads allowed, as
// Consul's DNS allows them); on a client-only agent they go to the servers.
type dnsCatalog struct {
	rpc    rpcer
	logger *slog.Logger
	ctx    context.Context

	mu       sync.Mutex
	services map[string]*watched[[]*structs.ServiceRegistration]
	nodes    *watched[map[string]*dns.Node]
}

var _ dns.Catalog = (*dnsCatalog)(nil)

func newDNSCatalog(ctx context.Context, rpc rpcer, logger *slog.Logger) *dnsCatalog {
	return &dnsCatalog{rpc: rpc, logger: logger.With("component", "dns-catalog"), ctx: ctx,
		services: map[string]*watched[[]*structs.ServiceRegistration]{}}
}

// watched is one value kept fresh by a blocking query loop.
type watched[T any] struct {
	ready  chan struct{} // closed once the first answer (or error) is in
	cancel context.CancelFunc

	mu       sync.Mutex
	val      T
	err      error // the last fetch's error, while no value has come
	lastUsed time.Time
}

func (w *watched[T]) get(ctx context.Context) (T, error) {
	w.mu.Lock()
	w.lastUsed = time.Now()
	w.mu.Unlock()
	select {
	case <-w.ready:
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.val, w.err
}

func (w *watched[T]) idle(now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return now.Sub(w.lastUsed) > dnsCacheIdle
}

// fetchFn runs one (blocking) query after index and returns the value and
// the new index.
type fetchFn[T any] func(ctx context.Context, index uint64) (T, uint64, error)

// watch runs the query loop until ctx ends or, when idle is set, nobody
// asked for the value for dnsCacheIdle.
func watch[T any](ctx context.Context, w *watched[T], fetch fetchFn[T], onIdle func(), logger *slog.Logger) {
	var index uint64
	once := sync.Once{}
	bo := backoff.Backoff{Min: 100 * time.Millisecond, Max: 10 * time.Second}
	for ctx.Err() == nil {
		val, idx, err := fetch(ctx, index)
		w.mu.Lock()
		if err == nil {
			w.val, w.err, index = val, nil, idx
			bo.Reset()
		} else if index == 0 {
			w.err = err // nothing to serve yet: queries get SERVFAIL
		}
		w.mu.Unlock()
		once.Do(func() { close(w.ready) })
		if onIdle != nil && w.idle(time.Now()) {
			onIdle()
			return
		}
		if err != nil && ctx.Err() == nil {
			logger.Debug("catalog query failed", "error", err)
			t := time.NewTimer(bo.Next())
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
	}
}

// ServiceInstances implements dns.Catalog: the default namespace's
// instances of name, every health (the DNS server filters).
func (c *dnsCatalog) ServiceInstances(ctx context.Context, name string) ([]*structs.ServiceRegistration, error) {
	return c.service(name).get(ctx)
}

func (c *dnsCatalog) service(name string) *watched[[]*structs.ServiceRegistration] {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.services[name]; w != nil {
		return w
	}
	if len(c.services) >= dnsCacheMaxServices {
		c.evictLocked()
	}
	ctx, cancel := context.WithCancel(c.ctx)
	w := &watched[[]*structs.ServiceRegistration]{ready: make(chan struct{}), cancel: cancel, lastUsed: time.Now()}
	c.services[name] = w
	fetch := func(ctx context.Context, index uint64) ([]*structs.ServiceRegistration, uint64, error) {
		args := &structs.ServiceRegistrationByNameRequest{ServiceName: name, QueryOptions: structs.QueryOptions{
			Namespace: structs.DefaultNamespace, MinQueryIndex: index, MaxQueryTime: dnsBlockingWait, AllowStale: true}}
		args.SetContext(ctx)
		var reply structs.ServiceRegistrationByNameResponse
		err := c.rpc.RPC(structs.MethodServiceRegistrationGetService, args, &reply)
		return reply.Services, reply.Index, err
	}
	onIdle := func() { c.drop(name, w) }
	go watch(ctx, w, fetch, onIdle, c.logger.With("service", name))
	return w
}

// evictLocked stops watching the least recently asked service.
func (c *dnsCatalog) evictLocked() {
	var oldest string
	var at time.Time
	for name, w := range c.services {
		w.mu.Lock()
		used := w.lastUsed
		w.mu.Unlock()
		if oldest == "" || used.Before(at) {
			oldest, at = name, used
		}
	}
	if w := c.services[oldest]; w != nil {
		w.cancel()
		delete(c.services, oldest)
	}
}

func (c *dnsCatalog) drop(name string, w *watched[[]*structs.ServiceRegistration]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.services[name] == w {
		delete(c.services, name)
	}
	w.cancel()
}

// Node implements dns.Catalog from the node list, watched once asked for.
func (c *dnsCatalog) Node(ctx context.Context, name string) (*dns.Node, error) {
	c.mu.Lock()
	if c.nodes == nil {
		c.nodes = &watched[map[string]*dns.Node]{ready: make(chan struct{}), cancel: func() {}, lastUsed: time.Now()}
		go watch(c.ctx, c.nodes, c.fetchNodes, nil, c.logger)
	}
	w := c.nodes
	c.mu.Unlock()
	nodes, err := w.get(ctx)
	if err != nil {
		return nil, err
	}
	return nodes[name], nil
}

func (c *dnsCatalog) fetchNodes(ctx context.Context, index uint64) (map[string]*dns.Node, uint64, error) {
	args := &structs.NodeListRequest{QueryOptions: structs.QueryOptions{MinQueryIndex: index, MaxQueryTime: dnsBlockingWait, AllowStale: true}}
	args.SetContext(ctx)
	var reply structs.NodeListResponse
	if err := c.rpc.RPC(structs.MethodNodeList, args, &reply); err != nil {
		return nil, 0, err
	}
	out := make(map[string]*dns.Node, len(reply.Nodes))
	for _, n := range reply.Nodes {
		out[n.Name] = &dns.Node{Name: n.Name, Datacenter: n.Datacenter, Address: n.Address}
	}
	return out, reply.Index, nil
}
