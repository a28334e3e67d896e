package sidecar

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roam-sh/roam/internal/backoff"
	"github.com/roam-sh/roam/mesh/agentapi"
	"github.com/roam-sh/roam/mesh/ca"
	"github.com/roam-sh/roam/mesh/proxy"
)

// authz is proxy.Authorizer over /v1/agent/connect/authorize. Decisions
// are remembered per source and asked again whenever the node's
// intentions change: a blocking query on /v1/agent/connect/intentions
// wakes the proxy at once, and costs nothing while nothing changes (no
// polling). A flip is announced on Changes, so a deny reaches new and
// open connections within a round trip. Without an answer (the agent
// restarting) a remembered decision stands; a source never seen is denied.
type authz struct {
	a      *agentapi.Client
	ns     string // the destination's namespace: this sidecar's allocation's
	logger *slog.Logger

	mu   sync.Mutex
	seen map[string]bool
	// gen counts intention changes seen; a decision asked across one is
	// asked again, so an answer from before the change is not kept.
	gen     uint64
	changes chan struct{}
}

func newAuthz(a *agentapi.Client, ns string, logger *slog.Logger) *authz {
	return &authz{a: a, ns: ns, logger: logger, seen: map[string]bool{}, changes: make(chan struct{}, 1)}
}

func (z *authz) Changes() <-chan struct{} { return z.changes }

func (z *authz) Authorize(src ca.ServiceID, dst string) bool {
	key := src.String() + " " + dst
	for {
		z.mu.Lock()
		allowed, ok := z.seen[key]
		gen := z.gen
		z.mu.Unlock()
		if ok {
			return allowed
		}
		allowed, err := z.ask(src, dst)
		if err != nil {
			z.logger.Warn("authorize", "source", src.String(), "error", err)
			return false
		}
		z.mu.Lock()
		if z.gen == gen {
			z.seen[key] = allowed
			z.mu.Unlock()
			return allowed
		}
		z.mu.Unlock() // the intentions changed while we asked: ask again
	}
}

func (z *authz) ask(src ca.ServiceID, dst string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var out struct {
		Authorized bool
		Reason     string
	}
	in := map[string]string{"Target": dst, "ClientCertURI": src.String()}
	var q url.Values
	if z.ns != "" {
		// Intentions name namespaced services: without it the agent would
		// judge the pair as if this sidecar served the default namespace.
		q = url.Values{"ns": {z.ns}}
	}
	if _, err := z.a.Do(ctx, http.MethodPost, "/v1/agent/connect/authorize", q, in, &out); err != nil {
		return false, err
	}
	return out.Authorized, nil
}

// watch follows the node's intentions with a blocking query until ctx
// ends and, after every change, asks again for every remembered pair. A
// failure (the agent restarting) backs off; decisions stand meanwhile.
func (z *authz) watch(ctx context.Context) {
	bo := backoff.Backoff{Min: 200 * time.Millisecond, Max: 10 * time.Second}
	var idx uint64
	for ctx.Err() == nil {
		start := time.Now()
		var list []json.RawMessage
		next, err := z.a.Do(ctx, http.MethodGet, "/v1/agent/connect/intentions", agentapi.Blocking(nil, idx), nil, &list)
		if err != nil && ctx.Err() == nil {
			z.logger.Warn("watch intentions", "error", err)
		}
		if err != nil || (next == idx && time.Since(start) < time.Second) {
			// A failure, or an answer at once with nothing new (no index):
			// wait, so the agent is not asked in a tight loop.
			select {
			case <-time.After(bo.Next()):
			case <-ctx.Done():
			}
			continue
		}
		bo.Reset()
		if next == idx {
			continue // the wait ended without a change
		}
		// Any other index is a change (a lower one: the servers' state was
		// restored); the first answer too, as decisions may predate it.
		idx = next
		z.refresh()
	}
}

// refresh asks again for every remembered pair and announces a flip.
func (z *authz) refresh() {
	z.mu.Lock()
	z.gen++
	keys := make([]string, 0, len(z.seen))
	for k := range z.seen {
		keys = append(keys, k)
	}
	z.mu.Unlock()
	flipped := false
	for _, k := range keys {
		flipped = z.refreshOne(k) || flipped
	}
	if flipped {
		select {
		case z.changes <- struct{}{}:
		default:
		}
	}
}

func (z *authz) refreshOne(key string) bool {
	uri, dst, _ := cutLast(key, " ")
	src, err := ca.ParseServiceID(uri)
	if err != nil {
		return false
	}
	allowed, err := z.ask(src, dst)
	if err != nil {
		return false
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	was, ok := z.seen[key]
	z.seen[key] = allowed
	return ok && was != allowed
}

func cutLast(s, sep string) (string, string, bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// resolver is proxy.Resolver over the catalog's health endpoint: the
// passing instances of <destination>-sidecar-proxy whose allocation's
// <destination> instance passes too (the sidecar's own check and its
// application's checks), asked at most once a second per destination.
type resolver struct {
	a *agentapi.Client

	mu    sync.Mutex
	cache map[string]*resolved
}

type resolved struct {
	insts []proxy.Instance
	at    time.Time
}

// resolveTTL is how long an answer is reused: a dead instance is skipped
// by retries and ejection meanwhile.
const resolveTTL = time.Second

// healthEntry is one instance of /v1/health/service/:name.
type healthEntry struct {
	Node    struct{ Address string }
	Service struct {
		ID      string
		Address string
		Port    int
	}
}

func (r *resolver) Instances(ctx context.Context, u proxy.Upstream) ([]proxy.Instance, error) {
	key := u.DestinationNamespace + "/" + u.Datacenter + "/" + u.DestinationName
	r.mu.Lock()
	c, ok := r.cache[key]
	r.mu.Unlock()
	if ok && time.Since(c.at) < resolveTTL {
		return c.insts, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	insts, err := r.fetch(ctx, u)
	if err != nil {
		if ok {
			return c.insts, nil // the agent is away: keep what we knew
		}
		return nil, err
	}
	r.mu.Lock()
	r.cache[key] = &resolved{insts: insts, at: time.Now()}
	r.mu.Unlock()
	return insts, nil
}

// fetch reads the passing sidecars and the passing applications and keeps
// the sidecars whose allocation's application passes.
func (r *resolver) fetch(ctx context.Context, u proxy.Upstream) ([]proxy.Instance, error) {
	q := url.Values{"passing": {"true"}}
	if u.Datacenter != "" {
		q.Set("dc", u.Datacenter)
	}
	if u.DestinationNamespace != "" {
		q.Set("ns", u.DestinationNamespace)
	}
	var sidecars, apps []healthEntry
	if _, err := r.a.Do(ctx, http.MethodGet, "/v1/health/service/"+url.PathEscape(u.DestinationName+"-sidecar-proxy"), q, nil, &sidecars); err != nil {
		return nil, err
	}
	if _, err := r.a.Do(ctx, http.MethodGet, "/v1/health/service/"+url.PathEscape(u.DestinationName), q, nil, &apps); err != nil {
		return nil, err
	}
	passing := map[string]bool{}
	for _, e := range apps {
		passing[allocOf(e.Service.ID)] = true
	}
	insts := make([]proxy.Instance, 0, len(sidecars))
	for _, e := range sidecars {
		if alloc := allocOf(e.Service.ID); alloc != "" && !passing[alloc] {
			continue
		}
		host := e.Service.Address
		if host == "" {
			host = e.Node.Address
		}
		insts = append(insts, proxy.Instance{Addr: net.JoinHostPort(host, strconv.Itoa(e.Service.Port))})
	}
	return insts, nil
}

// allocOf is the allocation ID in a roam (and Nomad) service instance ID,
// "_nomad-task-<alloc id>-…"; "" for an ID of another shape, whose
// instance is then judged by its own checks only.
func allocOf(id string) string {
	const prefix, uuidLen = "_nomad-task-", 36
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) <= uuidLen || rest[uuidLen] != '-' {
		return ""
	}
	return rest[:uuidLen]
}
