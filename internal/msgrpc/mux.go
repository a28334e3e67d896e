package msgrpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// ConnType is the first byte a client writes on a new connection to a server.
type ConnType byte

const (
	// TypeRPC is followed by calls (see the package doc, Frames).
	TypeRPC ConnType = 0x01
	// TypeRaft is followed by the Raft transport's protocol.
	TypeRaft ConnType = 0x02
)

func (t ConnType) String() string {
	switch t {
	case TypeRPC:
		return "rpc"
	case TypeRaft:
		return "raft"
	}
	return fmt.Sprintf("unknown(0x%02x)", byte(t))
}

// handshakeTimeout bounds how long a new connection may take to send its type
// byte, so that idle connections do not pile up.
const handshakeTimeout = 10 * time.Second

// ErrMuxClosed is returned by Accept on a closed listener.
var ErrMuxClosed = errors.New("listener closed")

// Mux splits one listener by the first byte of each connection. Register
// every type with Listen before calling Serve.
type Mux struct {
	ln     net.Listener
	logger *slog.Logger

	mu   sync.Mutex
	subs map[ConnType]*subListener
}

// NewMux wraps ln.
func NewMux(ln net.Listener, logger *slog.Logger) *Mux {
	return &Mux{ln: ln, logger: logger.With("component", "rpc-mux"), subs: map[ConnType]*subListener{}}
}

// Addr is the address of the shared listener.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// Listen returns the listener that receives connections of type t, with the
// type byte already consumed.
func (m *Mux) Listen(t ConnType) net.Listener {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.subs[t]; ok {
		return s
	}
	s := &subListener{addr: m.ln.Addr(), ch: make(chan net.Conn), done: make(chan struct{})}
	m.subs[t] = s
	return s
}

// Serve accepts connections until the shared listener is closed.
func (m *Mux) Serve() error {
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		go m.route(conn)
	}
}

// route reads the type byte and hands conn to its listener.
func (m *Mux) route(conn net.Conn) {
	var b [1]byte
	_ = conn.SetReadDeadline(time.Now().Add(handshakeTimeout))
	if _, err := conn.Read(b[:]); err != nil {
		if _, isTLS := conn.(*tls.Conn); isTLS && !handshakeDone(conn) {
			// Plaintext, a certificate from another CA, a client posing
			// as a server: the operator wants to see who was turned away.
			m.logger.Warn("refused rpc connection: TLS handshake failed", "remote", conn.RemoteAddr(), "error", err)
		} else {
			m.logger.Debug("connection closed before its type byte", "remote", conn.RemoteAddr(), "error", err)
		}
		conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	t := ConnType(b[0])
	m.mu.Lock()
	sub := m.subs[t]
	m.mu.Unlock()
	if sub == nil {
		m.logger.Warn("dropping connection of unknown type", "remote", conn.RemoteAddr(), "type", t)
		conn.Close()
		return
	}
	if !sub.deliver(conn) {
		conn.Close()
	}
}

// Close closes the shared listener and every per-type listener.
func (m *Mux) Close() error {
	err := m.ln.Close()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.subs {
		s.Close()
	}
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// subListener is the net.Listener of one connection type.
type subListener struct {
	addr net.Addr
	ch   chan net.Conn
	once sync.Once
	done chan struct{}
}

func (s *subListener) deliver(conn net.Conn) bool {
	select {
	case s.ch <- conn:
		return true
	case <-s.done:
		return false
	}
}

func (s *subListener) Accept() (net.Conn, error) {
	select {
	case c := <-s.ch:
		return c, nil
	case <-s.done:
		return nil, ErrMuxClosed
	}
}

func (s *subListener) Close() error {
	s.once.Do(func() { close(s.done) })
	return nil
}

func (s *subListener) Addr() net.Addr { return s.addr }

// handshakeDone reports whether conn, a *tls.Conn, completed its handshake.
func handshakeDone(conn net.Conn) bool {
	return conn.(*tls.Conn).ConnectionState().HandshakeComplete
}

// Dial connects to a server's RPC port and announces the connection type.
func Dial(addr string, t ConnType, timeout time.Duration) (net.Conn, error) {
	return Dialer{Timeout: timeout}.Dial(addr, t)
}

// Dialer connects to servers' RPC ports.
type Dialer struct {
	// Timeout bounds connecting, and the TLS handshake with TLS.
	Timeout time.Duration
	// TLS, when set, is the configuration of a TLS client handshake run
	// before anything else is sent: a server whose RPC port is TLS (a
	// listener from tls.NewListener under the Mux) takes nothing else.
	TLS *tls.Config
}

// Dial connects to addr and announces the connection type.
func (d Dialer) Dial(addr string, t ConnType) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", addr, d.Timeout)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if d.TLS != nil {
		tc := tls.Client(conn, d.TLS)
		ctx, cancel := context.WithTimeout(context.Background(), d.Timeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("dial %s: tls handshake: %w", addr, err)
		}
		conn = tc
	}
	if _, err := conn.Write([]byte{byte(t)}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("dial %s: write connection type: %w", addr, err)
	}
	return conn, nil
}
