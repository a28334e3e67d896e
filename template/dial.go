package template

import (
	"context"
	"net"
	"sync"
	"time"
)

// closingDialer dials the agent and remembers the connections, so that
// stopping an engine ends its blocking reads at once: consul-template's
// Nomad reads carry no context, and would otherwise hold a connection (and
// keep the agent's HTTP server from shutting down) until their wait ends.
type closingDialer struct {
	d net.Dialer

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

func newClosingDialer() *closingDialer {
	return &closingDialer{d: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}, conns: map[net.Conn]struct{}{}}
}

func (c *closingDialer) Dial(network, addr string) (net.Conn, error) {
	return c.DialContext(context.Background(), network, addr)
}

func (c *closingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := c.d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		conn.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: conn, owner: c}
	c.conns[tc] = struct{}{}
	return tc, nil
}

// closeAll closes every connection and refuses new ones.
func (c *closingDialer) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for conn := range c.conns {
		conn.(*trackedConn).Conn.Close()
	}
	clear(c.conns)
}

type trackedConn struct {
	net.Conn
	owner *closingDialer
	once  sync.Once
}

func (t *trackedConn) Close() error {
	t.once.Do(func() {
		t.owner.mu.Lock()
		delete(t.owner.conns, t)
		t.owner.mu.Unlock()
	})
	return t.Conn.Close()
}
