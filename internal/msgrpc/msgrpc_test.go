package msgrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-sh/roam/testutil"
)

type EchoArgs struct {
	N     int
	Wait  time.Duration
	At    time.Time
	Names map[string]string
}

type EchoReply struct {
	N     int
	Wait  time.Duration
	At    time.Time
	Names map[string]string
}

type Echo struct{}

func (Echo) Double(args *EchoArgs, reply *EchoReply) error {
	time.Sleep(args.Wait) // simulated work, so that calls overlap on one conn
	*reply = EchoReply{N: args.N * 2, Wait: args.Wait, At: args.At, Names: args.Names}
	return nil
}

func (Echo) Fail(args *EchoArgs, reply *EchoReply) error {
	return fmt.Errorf("job %d not found", args.N)
}

// testServer serves Echo on a mux and counts the RPC connections it accepted.
type testServer struct {
	mux      *Mux
	srv      *Server
	inFlight atomic.Int32 // calls in Blocker.Wait
	accepted atomic.Int32
	mu       sync.Mutex
	conns    []net.Conn
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{mux: NewMux(ln, testutil.Logger(t))}
	srv := NewServer(testutil.Logger(t))
	if err := srv.Register("Echo", Echo{}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Register("Blocker", Blocker{inFlight: &ts.inFlight}); err != nil {
		t.Fatal(err)
	}
	ts.srv = srv
	rpcLn := ts.mux.Listen(TypeRPC)
	go func() {
		for {
			conn, err := rpcLn.Accept()
			if err != nil {
				return
			}
			ts.accepted.Add(1)
			ts.mu.Lock()
			ts.conns = append(ts.conns, conn)
			ts.mu.Unlock()
			go srv.ServeConn(context.Background(), conn)
		}
	}()
	go ts.mux.Serve()
	t.Cleanup(func() { ts.mux.Close() })
	return ts
}

func (ts *testServer) killConns() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, c := range ts.conns {
		c.Close()
	}
	ts.conns = nil
}

func TestPoolConcurrentCallsShareOneConnection(t *testing.T) {
	ts := startServer(t)
	pool := NewPool(testutil.Logger(t))
	defer pool.Close()
	addr := ts.mux.Addr().String()
	at := time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var reply EchoReply
			args := &EchoArgs{N: i, Wait: 20 * time.Millisecond, At: at, Names: map[string]string{"k": "v"}}
			if err := pool.RPC(addr, "Echo.Double", args, &reply); err != nil {
				errs <- err
				return
			}
			if reply.N != 2*i || reply.Wait != args.Wait || !reply.At.Equal(at) || reply.Names["k"] != "v" {
				errs <- fmt.Errorf("call %d: bad reply %+v", i, reply)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := ts.accepted.Load(); n != 1 {
		t.Fatalf("want 1 pooled connection, server accepted %d", n)
	}
}

func TestPoolReturnsServerErrorsAndReconnects(t *testing.T) {
	ts := startServer(t)
	pool := NewPool(testutil.Logger(t))
	defer pool.Close()
	addr := ts.mux.Addr().String()

	var reply EchoReply
	err := pool.RPC(addr, "Echo.Fail", &EchoArgs{N: 7}, &reply)
	var remote *RemoteError
	if !errors.As(err, &remote) || remote.Message != "job 7 not found" {
		t.Fatalf("want the endpoint's error as *RemoteError, got %v", err)
	}
	// A server error does not cost the connection.
	if err := pool.RPC(addr, "Echo.Double", &EchoArgs{N: 1}, &reply); err != nil {
		t.Fatal(err)
	}

	ts.killConns()
	// The pooled connection is dead; calls recover by dialling again (the
	// first one may fail if it was already on the wire).
	testutil.WaitFor(t, 5*time.Second, func() error {
		return pool.RPC(addr, "Echo.Double", &EchoArgs{N: 2}, &reply)
	})
	if reply.N != 4 {
		t.Fatalf("reply after reconnect: %+v", reply)
	}
	if n := ts.accepted.Load(); n != 2 {
		t.Fatalf("want a second connection after the first died, got %d", n)
	}
}

func TestMuxRoutesByFirstByte(t *testing.T) {
	ts := startServer(t)
	raftLn := ts.mux.Listen(TypeRaft)
	addr := ts.mux.Addr().String()

	got := make(chan string, 1)
	go func() {
		conn, err := raftLn.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer conn.Close()
		b := make([]byte, 5)
		_, _ = io.ReadFull(conn, b)
		got <- string(b)
	}()
	conn, err := Dial(addr, TypeRaft, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "hello" {
		t.Fatalf("raft listener read %q", s)
	}

	// An unknown type byte is dropped: the peer sees EOF.
	bad, err := Dial(addr, ConnType(0x7f), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	_ = bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bad.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("unknown type: want EOF, got %v", err)
	}
	if ts.accepted.Load() != 0 {
		t.Fatal("raft or unknown connections reached the RPC listener")
	}
}

func TestPoolClosed(t *testing.T) {
	pool := NewPool(testutil.Logger(t))
	pool.Close()
	if err := pool.RPC("127.0.0.1:1", "Echo.Double", &EchoArgs{}, &EchoReply{}); !errors.Is(err, ErrPoolClosed) {
		t.Fatalf("want ErrPoolClosed, got %v", err)
	}
}
