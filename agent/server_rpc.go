package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/roam-sh/roam/internal/msgrpc"
)

// serverRPC sends a client-only agent's RPCs to its configured servers,
// moving on to the next server when one cannot be reached.
type serverRPC struct {
	pool    *msgrpc.Pool
	servers []string

	mu   sync.Mutex
	next int
}

func newServerRPC(pool *msgrpc.Pool, servers []string, defaultPort int) *serverRPC {
	addrs := make([]string, 0, len(servers))
	for _, s := range servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			s = net.JoinHostPort(s, strconv.Itoa(defaultPort))
		}
		addrs = append(addrs, s)
	}
	return &serverRPC{pool: pool, servers: addrs}
}

// RPC tries each server once, starting with the last one that answered.
// An endpoint's error comes back as the server sent it, with its kind
// (msgrpc.RemoteError), so errors.Is and the HTTP status work as in process.
// A caller that gave up (its context ended) is not retried elsewhere.
func (r *serverRPC) RPC(method string, args, reply any) error {
	r.mu.Lock()
	start := r.next
	r.mu.Unlock()
	var errs []error
	for i := range r.servers {
		idx := (start + i) % len(r.servers)
		addr := r.servers[idx]
		err := r.pool.RPC(addr, method, args, reply)
		if err == nil || isServerAnswer(err) {
			r.mu.Lock()
			r.next = idx
			r.mu.Unlock()
			return err
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	return fmt.Errorf("no server reachable for %s: %w", method, errors.Join(errs...))
}

// isServerAnswer reports whether err came back from a server (the call was
// delivered) rather than from failing to reach one.
func isServerAnswer(err error) bool {
	var remote *msgrpc.RemoteError
	return errors.As(err, &remote)
}
