package msgrpc

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// Node is a stand-in for the server's Node endpoint: it decodes a client's
// allocation updates and answers with an index.
type Node struct{}

func (Node) UpdateAlloc(args *structs.AllocUpdateRequest, reply *structs.GenericResponse) error {
	reply.Index = uint64(len(args.Alloc))
	return nil
}

// clientUpdate is what a client reports for n running allocations.
func clientUpdate(n int) *structs.AllocUpdateRequest {
	now := time.Now()
	req := &structs.AllocUpdateRequest{}
	for range n {
		req.Alloc = append(req.Alloc, &structs.Allocation{
			ID: structs.GenerateUUID(), ClientStatus: structs.AllocClientStatusRunning,
			ClientDescription: "Tasks are running", ModifyTime: now.UnixNano(),
			TaskStates: map[string]*structs.TaskState{"app": {
				State: structs.TaskStateRunning, StartedAt: now,
				Events: []*structs.TaskEvent{
					{Type: structs.TaskReceived, Time: now.UnixNano(), DisplayMessage: "Task received by client"},
					{Type: structs.TaskStarted, Time: now.UnixNano(), DisplayMessage: "Task started by client"},
				},
			}},
		})
	}
	return req
}

// BenchmarkPoolRPC measures one client's calls over a real TCP connection:
// encoding, the syscalls on both sides, and decoding on the server.
func BenchmarkPoolRPC(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	mux := NewMux(ln, testutil.Logger(b))
	srv := NewServer(testutil.Logger(b))
	if err := srv.Register("Node", Node{}); err != nil {
		b.Fatal(err)
	}
	rpcLn := mux.Listen(TypeRPC)
	go func() {
		for {
			conn, err := rpcLn.Accept()
			if err != nil {
				return
			}
			go srv.ServeConn(context.Background(), conn)
		}
	}()
	go mux.Serve()
	defer mux.Close()
	pool := NewPool(testutil.Logger(b))
	defer pool.Close()
	for _, n := range []int{1, 10} {
		req := clientUpdate(n)
		b.Run(fmt.Sprintf("allocs=%d", n), func(b *testing.B) {
			for b.Loop() {
				var resp structs.GenericResponse
				if err := pool.RPC(ln.Addr().String(), structs.MethodNodeUpdateAlloc, req, &resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
