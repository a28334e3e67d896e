// Package connlimit caps how many connections one client address may hold
// open on a listener at once. Without a cap, one client can hold enough idle
// or blocking connections to exhaust the agent's file descriptors, after
// which nothing else it does (accepting, forking iptables) works.
package connlimit

import (
	"net"
	"sync"
	"time"
)

// tooMany is written to a connection refused for being over the cap, so
// that an HTTP client sees why (as Nomad's agent answers).
const tooMany = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 56\r\n\r\ntoo many connections from this address (http_max_conns)\n"

// Listener wraps a listener: Accept hands on connections while their
// client address holds fewer than Max; the others are answered with 429 and
// closed. Max <= 0 means no cap.
type Listener struct {
	net.Listener
	Max int
	// OnRefuse, when set, hears of each refused connection (its client
	// address), so an operator can be told why a caller's connections fail.
	OnRefuse func(client string)

	mu     sync.Mutex
	counts map[string]int
}

// New caps ln at max connections per client address.
func New(ln net.Listener, max int) *Listener {
	return &Listener{Listener: ln, Max: max, counts: map[string]int{}}
}

// Accept returns the next connection within its client's cap.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || l.Max <= 0 {
			return c, err
		}
		key := clientOf(c.RemoteAddr())
		if !l.take(key) {
			refuse(c)
			if l.OnRefuse != nil {
				l.OnRefuse(key)
			}
			continue
		}
		return &conn{Conn: c, release: func() { l.give(key) }}, nil
	}
}

// Open is how many connections addr holds now (for tests and metrics).
func (l *Listener) Open(addr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[addr]
}

func (l *Listener) take(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts[key] >= l.Max {
		return false
	}
	l.counts[key]++
	return true
}

func (l *Listener) give(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts[key]--; l.counts[key] <= 0 {
		delete(l.counts, key)
	}
}

// refuse answers 429 without waiting on a client that does not read.
func refuse(c net.Conn) {
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write([]byte(tooMany))
	_ = c.Close()
}

func clientOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// conn gives its slot back once, however often it is closed (the HTTP
// server and a hijacking websocket handler may both close it).
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

// NetConn is the accepted connection underneath, for callers that tune
// its socket (as tls.Conn's NetConn).
func (c *conn) NetConn() net.Conn { return c.Conn }

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
