package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"

	"github.com/roam-sh/roam/internal/msgrpc"
	"github.com/roam-sh/roam/structs"
)

// serverRPC sends a client-only agent's RPCs to the servers, moving on to
// the next server when one cannot be reached. It starts from the
// configured client.servers in a random order (so that clients spread over
// the servers rather than all calling the first) and learns the cluster's
// current servers from every heartbeat's answer (NodeUpdateResponse.Servers),
// so a client configured with one server fails over to all of them and
// follows servers that are added or replaced.
type serverRPC struct {
	pool *msgrpc.Pool
	// configured are always kept: they are how the client finds the
	// cluster again after every server it learned of has changed.
	configured []string
	// clientCert is this agent's certificate name when it is a client
	// agent's under verify_server_hostname: the servers refuse it the
	// server-only methods, so they are refused here, without a round trip.
	clientCert string

	mu      sync.Mutex
	servers []string
	next    int
}

// maxLearnedServers bounds the servers one answer may add.
const maxLearnedServers = 64

func newServerRPC(pool *msgrpc.Pool, servers []string, defaultPort int) *serverRPC {
	addrs := make([]string, 0, len(servers))
	for _, s := range servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			s = net.JoinHostPort(s, strconv.Itoa(defaultPort))
		}
		if !slices.Contains(addrs, s) {
			addrs = append(addrs, s)
		}
	}
	list := slices.Clone(addrs)
	rand.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	return &serverRPC{pool: pool, configured: addrs, servers: list}
}

// RPC tries each server once, starting with the last one that answered.
// An endpoint's error comes back as the server sent it, with its kind
// (msgrpc.RemoteError), so errors.Is and the HTTP status work as in process.
// A caller that gave up (its context ended) is not retried elsewhere.
func (r *serverRPC) RPC(method string, args, reply any) error {
	if r.clientCert != "" && structs.CallersOf(method) == structs.CallersServers {
		return fmt.Errorf("%w: operator call %s must be sent to a server agent: servers allow it only to server certificates, "+
			"and this client agent's is %s", structs.ErrPermissionDenied, method, r.clientCert)
	}
	servers, start := r.snapshot()
	var errs []error
	for i := range servers {
		idx := (start + i) % len(servers)
		addr := servers[idx]
		err := r.pool.RPC(addr, method, args, reply)
		if err == nil || isServerAnswer(err) {
			r.answered(addr)
			if err == nil {
				r.learn(reply)
			}
			return err
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	return fmt.Errorf("no server reachable for %s: %w", method, errors.Join(errs...))
}

func (r *serverRPC) snapshot() ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.servers), r.next
}

// answered makes addr the first server tried next time.
func (r *serverRPC) answered(addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := slices.Index(r.servers, addr); i >= 0 {
		r.next = i
	}
}

// learn takes the server list from a heartbeat's or registration's answer:
// the configured servers plus the ones the cluster names now.
func (r *serverRPC) learn(reply any) {
	resp, ok := reply.(*structs.NodeUpdateResponse)
	if !ok || len(resp.Servers) == 0 {
		return
	}
	list := slices.Clone(r.configured)
	for _, s := range resp.Servers {
		if s != nil && s.RPCAdvertiseAddr != "" && !slices.Contains(list, s.RPCAdvertiseAddr) && len(list) < maxLearnedServers {
			list = append(list, s.RPCAdvertiseAddr)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if sameSet(list, r.servers) {
		return
	}
	current := ""
	if len(r.servers) > 0 {
		current = r.servers[r.next%len(r.servers)]
	}
	rand.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	r.servers, r.next = list, max(0, slices.Index(list, current))
}

// Servers is the list the agent uses now (known_servers in /v1/agent/self).
func (r *serverRPC) Servers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(slices.Values(r.servers))
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// isServerAnswer reports whether err came back from a server (the call was
// delivered) rather than from failing to reach one.
func isServerAnswer(err error) bool {
	var remote *msgrpc.RemoteError
	return errors.As(err, &remote)
}
