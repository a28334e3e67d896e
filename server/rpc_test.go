package server

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/roam-sh/roam/internal/msgrpc"
	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func TestRPCOverTCPWithConcurrentCalls(t *testing.T) {
	s := testServer(t)
	pool := msgrpc.NewPool(testutil.Logger(t))
	defer pool.Close()
	addr := s.LocalAddr()
	must(t, pool.RPC(addr, structs.MethodStatusPing, &structs.GenericRequest{}, &struct{}{}))

	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			node := schedtest.MockNode()
			node.SecretID = structs.GenerateUUID()
			var reply structs.NodeUpdateResponse
			if err := pool.RPC(addr, structs.MethodNodeRegister, &structs.NodeRegisterRequest{Node: node}, &reply); err != nil {
				errs <- err
			} else if reply.HeartbeatTTL == 0 || reply.LeaderRPCAddr != addr {
				errs <- fmt.Errorf("register reply over TCP: %+v", reply)
			}
		}()
		go func() {
			defer wg.Done()
			var reply structs.NodeListResponse
			if err := pool.RPC(addr, structs.MethodNodeList, &structs.NodeListRequest{}, &reply); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var list structs.NodeListResponse
	must(t, pool.RPC(addr, structs.MethodNodeList, &structs.NodeListRequest{}, &list))
	if len(list.Nodes) != 20 || list.Index == 0 {
		t.Fatalf("listed %d nodes at index %d over TCP", len(list.Nodes), list.Index)
	}

	// Endpoint errors arrive with their message and their kind.
	err := pool.RPC(addr, structs.MethodJobDeregister, &structs.JobDeregisterRequest{JobID: "nope"}, &structs.JobDeregisterResponse{})
	if !errors.Is(err, structs.ErrNotFound) || err.Error() != `job not found: "nope"` || ErrorCode(err) != 404 {
		t.Fatalf("remote error: %v", err)
	}
}

func TestInProcessRPCChecksTypes(t *testing.T) {
	s := testServer(t)
	if err := s.RPC("Job.Nope", &structs.JobListRequest{}, &structs.JobListResponse{}); err == nil {
		t.Fatal("unknown method accepted")
	}
	if err := s.RPC(structs.MethodJobList, &structs.NodeListRequest{}, &structs.JobListResponse{}); err == nil {
		t.Fatal("wrong argument type accepted")
	}
	var reply structs.JobListResponse
	must(t, s.RPC(structs.MethodJobList, &structs.JobListRequest{}, &reply))
	if reply.Jobs == nil || reply.Index == 0 {
		t.Fatalf("empty list reply: %+v", reply)
	}
}
