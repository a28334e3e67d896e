package msgrpc

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/testutil"
)

// kindErr is a sentinel whose kind crosses the wire, as structs' are.
type kindErr string

func (k kindErr) Error() string        { return string(k) }
func (k kindErr) RPCErrorKind() string { return string(k) }

const (
	errGone    = kindErr("gone")
	errStrange = kindErr("not found")
)

func (Echo) Gone(args *EchoArgs, reply *EchoReply) error {
	return fmt.Errorf("job %d: %w", args.N, errGone)
}

func TestRemoteErrorKeepsItsKind(t *testing.T) {
	ts := startServer(t)
	pool := NewPool(testutil.Logger(t))
	defer pool.Close()
	addr := ts.mux.Addr().String()

	err := pool.RPC(addr, "Echo.Gone", &EchoArgs{N: 7}, &EchoReply{})
	if !errors.Is(err, errGone) || err.Error() != "job 7: gone" {
		t.Fatalf("want errGone with its message across the wire, got %v", err)
	}
	// An error without a kind matches no sentinel, whatever its text says.
	err = pool.RPC(addr, "Echo.Fail", &EchoArgs{N: 7}, &EchoReply{})
	if err == nil || errors.Is(err, errStrange) || errors.Is(err, errGone) {
		t.Fatalf("an error without a kind matched a sentinel: %v", err)
	}
}

// BlockArgs carries its caller's context, as a read's QueryOptions does.
type BlockArgs struct {
	ctx context.Context
}

func (a *BlockArgs) Context() context.Context       { return a.ctx }
func (a *BlockArgs) SetContext(ctx context.Context) { a.ctx = ctx }

// Blocker waits for its call's context, and counts the calls in progress.
type Blocker struct{ inFlight interface{ Add(int32) int32 } }

func (b Blocker) Wait(args *BlockArgs, reply *EchoReply) error {
	b.inFlight.Add(1)
	defer b.inFlight.Add(-1)
	<-args.ctx.Done()
	return args.ctx.Err()
}

// TestCancelledCallsLeaveNoGoroutines cancels calls that block on the server
// and checks both ends let go: the callers return, the server's calls end
// and the goroutine count comes back to what it was before the calls.
func TestCancelledCallsLeaveNoGoroutines(t *testing.T) {
	ts := startServer(t)
	inFlight := &ts.inFlight
	pool := NewPool(testutil.Logger(t))
	defer pool.Close()
	addr := ts.mux.Addr().String()
	if err := pool.RPC(addr, "Echo.Double", &EchoArgs{N: 1}, &EchoReply{}); err != nil {
		t.Fatal(err)
	}
	baseline := runtime.NumGoroutine()

	const n = 20
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reply := EchoReply{N: -1}
			err := pool.RPC(addr, "Blocker.Wait", &BlockArgs{ctx: ctx}, &reply)
			if !errors.Is(err, context.Canceled) || reply.N != -1 {
				errs <- fmt.Errorf("cancelled call: err %v, reply %+v", err, reply)
			}
		}()
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if got := inFlight.Load(); got != n {
			return fmt.Errorf("%d of %d calls waiting on the server", got, n)
		}
		return nil
	})
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if got := inFlight.Load(); got != 0 {
			return fmt.Errorf("%d calls still running on the server", got)
		}
		if got := runtime.NumGoroutine(); got > baseline {
			return fmt.Errorf("%d goroutines, %d before the calls", got, baseline)
		}
		return nil
	})
	// Cancelling calls does not cost the connection.
	if err := pool.RPC(addr, "Echo.Double", &EchoArgs{N: 2}, &EchoReply{}); err != nil {
		t.Fatal(err)
	}
	if n := ts.accepted.Load(); n != 1 {
		t.Fatalf("want the one connection kept, server accepted %d", n)
	}
}
