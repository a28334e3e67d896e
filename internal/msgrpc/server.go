package msgrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"reflect"
	"slices"
	"sync"
)

// Server dispatches calls to the methods of registered receivers: remote
// calls that arrive on connections (ServeConn) and in-process calls (Call).
// Register every receiver before serving.
type Server struct {
	logger  *slog.Logger
	methods map[string]method
}

// method is one registered endpoint method, bound to its receiver.
type method struct {
	fn    reflect.Value
	args  reflect.Type // a pointer type
	reply reflect.Type // a pointer type
}

// contextSetter is implemented by requests that carry their caller's
// context (a read's QueryOptions): ServeConn hands each call its context
// through it, so an endpoint that blocks can stop when the caller cancels.
type contextSetter interface {
	SetContext(context.Context)
}

// NewServer returns a server with no methods.
func NewServer(logger *slog.Logger) *Server {
	return &Server{logger: logger.With("component", "rpc-server"), methods: map[string]method{}}
}

// Register adds the methods of rcvr that have the shape
// func(args *A, reply *R) error, as "name.Method".
func (s *Server) Register(name string, rcvr any) error {
	v := reflect.ValueOf(rcvr)
	errType := reflect.TypeFor[error]()
	n := 0
	for i := range v.NumMethod() {
		ft := v.Method(i).Type()
		if ft.NumIn() != 2 || ft.NumOut() != 1 || ft.Out(0) != errType ||
			ft.In(0).Kind() != reflect.Pointer || ft.In(1).Kind() != reflect.Pointer {
			continue
		}
		s.methods[name+"."+v.Type().Method(i).Name] = method{fn: v.Method(i), args: ft.In(0), reply: ft.In(1)}
		n++
	}
	if n == 0 {
		return fmt.Errorf("register %s: %T has no method of the shape func(*Args, *Reply) error", name, rcvr)
	}
	return nil
}

// Methods lists the registered method names, sorted.
func (s *Server) Methods() []string {
	names := make([]string, 0, len(s.methods))
	for n := range s.methods {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Signature is the argument and reply types (pointers) of a registered
// method: what a caller walking the method table needs to call each.
func (s *Server) Signature(name string) (args, reply reflect.Type, ok bool) {
	m, ok := s.methods[name]
	return m.args, m.reply, ok
}

// Call calls a method in-process. args and reply are passed as is (no
// encoding), so the endpoint's error reaches the caller with its type.
func (s *Server) Call(name string, args, reply any) error {
	m, ok := s.methods[name]
	if !ok {
		return fmt.Errorf("rpc: unknown method %q", name)
	}
	a, r := reflect.ValueOf(args), reflect.ValueOf(reply)
	if !a.IsValid() || a.Type() != m.args || !r.IsValid() || r.Type() != m.reply {
		return fmt.Errorf("rpc %s: want (%s, %s), got (%T, %T)", name, m.args, m.reply, args, reply)
	}
	return m.call(a, r)
}

func (m method) call(args, reply reflect.Value) error {
	err, _ := m.fn.Call([]reflect.Value{args, reply})[0].Interface().(error)
	return err
}

// ServeConn serves the calls that arrive on conn, each on its own
// goroutine, until conn fails or ctx ends. Each call runs under a context
// that ends when its caller sends a cancel frame, when the connection goes
// away or when ctx ends. ServeConn returns once every call it started has
// returned, and closes conn.
func (s *Server) ServeConn(ctx context.Context, conn io.ReadWriteCloser) {
	s.ServeConnGuarded(ctx, conn, nil)
}

// Guard decides whether the caller at the other end of a connection may
// call method; its error is the call's answer (and the method is not run).
type Guard func(method string) error

// ServeConnGuarded is ServeConn with every call first passed to guard
// (nil allows every call): the server allows a client agent's connection
// no server-only method.
func (s *Server) ServeConnGuarded(ctx context.Context, conn io.ReadWriteCloser, guard Guard) {
	ctx, cancel := context.WithCancel(ctx)
	sc := &serverConn{srv: s, st: newStream(conn), guard: guard, calls: map[uint64]context.CancelFunc{}}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer func() {
		stop()
		cancel() // the caller is gone: end the calls it left running
		sc.wg.Wait()
		conn.Close()
	}()
	for {
		var h requestHeader
		if err := sc.st.read(&h); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.logger.Debug("rpc connection ended", "error", err)
			}
			return
		}
		if err := sc.handle(ctx, h); err != nil {
			s.logger.Warn("closing rpc connection", "error", err)
			return
		}
	}
}

// serverConn is the state of one connection: the calls in flight, by
// sequence number, so that a cancel frame can reach them.
type serverConn struct {
	srv   *Server
	st    *stream
	guard Guard
	wg    sync.WaitGroup

	mu    sync.Mutex
	calls map[uint64]context.CancelFunc
}

// handle acts on one frame. An error means the stream can no longer be
// read in step (a body that does not decode) and the connection must close.
func (sc *serverConn) handle(ctx context.Context, h requestHeader) error {
	switch h.Kind {
	case frameCancel:
		sc.cancel(h.Seq)
		return nil
	case frameCall:
	default:
		return fmt.Errorf("unknown frame kind %s", h.Kind)
	}
	m, ok := sc.srv.methods[h.Method]
	if !ok {
		if err := sc.st.discard(); err != nil {
			return fmt.Errorf("skip args of unknown method %q: %w", h.Method, err)
		}
		sc.reply(h.Seq, nil, fmt.Errorf("rpc: unknown method %q", h.Method))
		return nil
	}
	if sc.guard != nil {
		if err := sc.guard(h.Method); err != nil {
			if derr := sc.st.discard(); derr != nil {
				return fmt.Errorf("skip args of refused %s: %w", h.Method, derr)
			}
			sc.reply(h.Seq, nil, err)
			return nil
		}
	}
	args := reflect.New(m.args.Elem())
	if err := sc.st.read(args.Interface()); err != nil {
		return fmt.Errorf("decode args of %s: %w", h.Method, err)
	}
	callCtx, cancel := context.WithCancel(ctx)
	sc.mu.Lock()
	sc.calls[h.Seq] = cancel
	sc.mu.Unlock()
	sc.wg.Add(1)
	go sc.run(callCtx, h.Seq, m, args)
	return nil
}

// run calls the endpoint and answers.
func (sc *serverConn) run(ctx context.Context, seq uint64, m method, args reflect.Value) {
	defer sc.wg.Done()
	defer sc.cancel(seq)
	if cs, ok := args.Interface().(contextSetter); ok {
		cs.SetContext(ctx)
	}
	reply := reflect.New(m.reply.Elem())
	err := m.call(args, reply)
	sc.reply(seq, reply.Interface(), err)
}

// reply sends a call's answer. A write that fails may have left half a
// frame on the wire, so it closes the connection: the caller sees it fail
// rather than misread what follows.
func (sc *serverConn) reply(seq uint64, reply any, err error) {
	h := responseHeader{Seq: seq}
	if err != nil {
		h.Error, h.ErrorKind, reply = err.Error(), errorKind(err), nil
	}
	if werr := sc.st.write(&h, reply); werr != nil {
		sc.srv.logger.Debug("rpc reply not sent", "seq", seq, "error", werr)
		sc.st.conn.Close()
	}
}

// cancel ends call seq's context and forgets it; unknown (finished) calls
// are ignored.
func (sc *serverConn) cancel(seq uint64) {
	sc.mu.Lock()
	cancel := sc.calls[seq]
	delete(sc.calls, seq)
	sc.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}
