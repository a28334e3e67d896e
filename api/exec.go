package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// execHeartbeat is how often an idle exec session says it is alive, so
// proxies do not close it.
const execHeartbeat = 10 * time.Second

// ExecOptions describe an `alloc exec` session.
type ExecOptions struct {
	Task    string
	Command []string
	// Tty asks for a pseudo-terminal: output then all arrives on Stdout.
	Tty    bool
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Resize carries terminal size changes (Tty only).
	Resize <-chan TerminalSize
}

// Exec runs a command inside a running task over the exec websocket and
// returns its exit code. The session ends when the command exits, ctx ends,
// or the connection fails.
func (a *Allocations) Exec(ctx context.Context, allocID string, o *ExecOptions, q *QueryOptions) (int, error) {
	conn, err := a.c.dialExec(ctx, allocID, o, q)
	if err != nil {
		return -1, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	s := &execSession{conn: conn, o: o, done: make(chan struct{})}
	defer close(s.done)
	go s.sendStdin()
	go s.sendResizes()
	go s.heartbeat()
	code, err := s.receive()
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	return code, err
}

func (c *Client) dialExec(ctx context.Context, allocID string, o *ExecOptions, q *QueryOptions) (*websocket.Conn, error) {
	cmd, err := json.Marshal(o.Command)
	if err != nil {
		return nil, fmt.Errorf("encode command: %w", err)
	}
	r := c.newRequest(http.MethodGet, clientAllocPath(allocID, "exec"))
	r.setQuery(withParams(q, "task", o.Task, "command", string(cmd), "tty", strconv.FormatBool(o.Tty)))
	u := *c.base
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path = strings.TrimSuffix(u.Path, "/") + r.path
	u.RawQuery = r.params.Encode()
	h := http.Header{}
	if c.cfg.Token != "" {
		h.Set("X-Nomad-Token", c.cfg.Token)
	}
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	if t, ok := c.httpc.Transport.(*http.Transport); ok && t != nil {
		d.TLSClientConfig = t.TLSClientConfig
	}
	conn, resp, err := d.DialContext(ctx, u.String(), h)
	if err != nil {
		if resp != nil {
			defer resp.Body.Close()
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			return nil, &StatusError{Method: http.MethodGet, Path: r.path, Code: resp.StatusCode, Body: strings.TrimSpace(string(msg))}
		}
		return nil, fmt.Errorf("exec: connect: %w", err)
	}
	return conn, nil
}

// execSession is one running exec: input goroutines write, receive reads.
type execSession struct {
	conn *websocket.Conn
	o    *ExecOptions
	mu   sync.Mutex // one writer at a time
	done chan struct{}
}

func (s *execSession) send(in *ExecStreamingInput) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn.WriteJSON(in)
}

func (s *execSession) sendStdin() {
	if s.o.Stdin == nil {
		_ = s.send(&ExecStreamingInput{Stdin: &ExecStreamingIOOperation{Close: true}})
		return
	}
	buf := make([]byte, 8<<10)
	for {
		n, err := s.o.Stdin.Read(buf)
		if n > 0 {
			data := append([]byte(nil), buf[:n]...)
			if s.send(&ExecStreamingInput{Stdin: &ExecStreamingIOOperation{Data: data}}) != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				_ = s.send(&ExecStreamingInput{Stdin: &ExecStreamingIOOperation{Close: true}})
			}
			return
		}
	}
}

func (s *execSession) sendResizes() {
	for {
		select {
		case sz, ok := <-s.o.Resize:
			if !ok {
				return
			}
			if s.send(&ExecStreamingInput{TTYSize: &sz}) != nil {
				return
			}
		case <-s.done:
			return
		}
	}
}

func (s *execSession) heartbeat() {
	t := time.NewTicker(execHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if s.send(&ExecStreamingInput{}) != nil {
				return
			}
		case <-s.done:
			return
		}
	}
}

// receive copies output until the exit frame arrives.
func (s *execSession) receive() (int, error) {
	for {
		var out ExecStreamingOutput
		if err := s.conn.ReadJSON(&out); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Text != "" {
				return -1, errors.New(ce.Text)
			}
			return -1, fmt.Errorf("exec: connection closed before the command exited: %w", err)
		}
		switch {
		case out.Exited && out.Result != nil:
			return out.Result.ExitCode, nil
		case out.Stdout != nil && len(out.Stdout.Data) > 0 && s.o.Stdout != nil:
			_, _ = s.o.Stdout.Write(out.Stdout.Data)
		case out.Stderr != nil && len(out.Stderr.Data) > 0 && s.o.Stderr != nil:
			_, _ = s.o.Stderr.Write(out.Stderr.Data)
		}
	}
}
