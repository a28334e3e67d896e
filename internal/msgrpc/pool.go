package msgrpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// DefaultDialTimeout bounds connecting to a server.
const DefaultDialTimeout = 5 * time.Second

// Pool keeps one RPC connection per server address. Concurrent calls to the
// same address share the connection (see Client). A connection that fails is dropped and the next call dials again.
type Pool struct {
	logger *slog.Logger
	dialer Dialer

	mu     sync.Mutex
	conns  map[string]*poolConn
	closed bool
}

// poolConn is a connection being dialled or in use; ready is closed when the
// dial finished, with client or err set.
type poolConn struct {
	ready  chan struct{}
	client *Client
	err    error
}

// PoolOption changes how a Pool connects.
type PoolOption func(*Pool)

// WithTLS makes the pool dial over TLS with cfg (nil: plaintext).
func WithTLS(cfg *tls.Config) PoolOption {
	return func(p *Pool) { p.dialer.TLS = cfg }
}

// NewPool returns an empty pool.
func NewPool(logger *slog.Logger, opts ...PoolOption) *Pool {
	p := &Pool{
		logger: logger.With("component", "rpc-pool"),
		dialer: Dialer{Timeout: DefaultDialTimeout},
		conns:  map[string]*poolConn{},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// RPC calls method (structs.MethodJobRegister) on the server at addr. Errors
// returned by the remote endpoint come back as *RemoteError, with their
// kind; transport errors are wrapped with the address. A call that found its
// pooled connection already closed is retried once on a fresh connection: it
// was never sent, so the retry cannot apply a write twice.
//
// A request that carries a context (a read's QueryOptions, see Context) is
// cancelled with it: RPC returns the context's error at once and the server
// ends the call.
func (p *Pool) RPC(addr, method string, args, reply any) error {
	return p.RPCContext(contextOf(args), addr, method, args, reply)
}

// RPCContext is RPC bounded by ctx rather than by a context the request
// carries (server-to-server calls with a deadline of their own).
func (p *Pool) RPCContext(ctx context.Context, addr, method string, args, reply any) error {
	for attempt := 0; ; attempt++ {
		pc, err := p.get(addr)
		if err != nil {
			return err
		}
		err = pc.client.Call(ctx, method, args, reply)
		var remote *RemoteError
		switch {
		case err == nil || errors.As(err, &remote):
			return err
		case ctx.Err() != nil:
			// The caller gave up; the connection is fine.
			return fmt.Errorf("rpc %s to %s: %w", method, addr, err)
		}
		p.drop(addr, pc)
		if errors.Is(err, ErrClosed) && attempt == 0 {
			continue
		}
		return fmt.Errorf("rpc %s to %s: %w", method, addr, err)
	}
}

// contextOf is the context a request carries, or Background for one that
// carries none (writes: once sent they apply whether the caller waits or not).
func contextOf(args any) context.Context {
	if c, ok := args.(interface{ Context() context.Context }); ok {
		if ctx := c.Context(); ctx != nil {
			return ctx
		}
	}
	return context.Background()
}

// get returns the connection to addr, dialling it if needed. Only one dial
// per address is in flight; other callers wait for it.
func (p *Pool) get(addr string) (*poolConn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrPoolClosed
	}
	pc, ok := p.conns[addr]
	if !ok {
		pc = &poolConn{ready: make(chan struct{})}
		p.conns[addr] = pc
		p.mu.Unlock()
		p.dial(addr, pc)
	} else {
		p.mu.Unlock()
	}
	<-pc.ready
	if pc.err != nil {
		return nil, pc.err
	}
	return pc, nil
}

func (p *Pool) dial(addr string, pc *poolConn) {
	defer close(pc.ready)
	conn, err := p.dialer.Dial(addr, TypeRPC)
	if err != nil {
		pc.err = err
		p.drop(addr, pc)
		return
	}
	pc.client = NewClient(conn)
	p.logger.Debug("connected", "addr", addr)
}

// drop forgets pc (if it is still the pooled connection for addr) and closes it.
func (p *Pool) drop(addr string, pc *poolConn) {
	p.mu.Lock()
	if p.conns[addr] == pc {
		delete(p.conns, addr)
	}
	p.mu.Unlock()
	if pc.client != nil {
		pc.client.Close()
	}
}

// Close closes every connection; later calls fail with ErrPoolClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	conns := p.conns
	p.conns = map[string]*poolConn{}
	p.closed = true
	p.mu.Unlock()
	for _, pc := range conns {
		<-pc.ready
		if pc.client != nil {
			pc.client.Close()
		}
	}
	return nil
}
