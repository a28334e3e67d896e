package server

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/roam-sh/roam/structs"
)

// TestRestartedLeaderNeverAnswersFromPartialState restarts a single server on
// its data dir and reads the job list from the moment it starts: every answer
// it gives must hold every job it accepted before the restart. The entries
// after the last snapshot are applied again only once the new leader's
// barrier commits, so a leader that answered as soon as it won the election
// listed fewer jobs (found as "jobs after restart: 1" in the restart e2e).
func TestRestartedLeaderNeverAnswersFromPartialState(t *testing.T) {
	cfg := testConfig(t)
	s := startServer(t, cfg)
	const jobs = 30
	for i := range jobs {
		registerJob(t, s, testJob(fmt.Sprintf("job-%02d", i), 0))
	}
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}

	s2, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Shutdown() })

	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	var wg sync.WaitGroup
	var bad []string
	answered := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Read the moment Raft calls this server leader: that is the
		// window in which its FSM may not yet hold the old entries.
		for ctx.Err() == nil && !s2.IsLeader() {
		}
		for ctx.Err() == nil {
			var reply structs.JobListResponse
			if err := s2.RPC(structs.MethodJobList, &structs.JobListRequest{}, &reply); err != nil {
				continue // no leader yet: refusing is fine, answering short is not
			}
			answered++
			if len(reply.Jobs) != jobs {
				bad = append(bad, fmt.Sprintf("%d jobs at index %d", len(reply.Jobs), reply.Index))
			}
			if answered >= 50 {
				return
			}
		}
	}()
	wg.Wait()
	if answered == 0 {
		t.Fatal("the restarted server never answered")
	}
	if len(bad) > 0 {
		t.Fatalf("the restarted server answered from partial state %d times of %d: %v", len(bad), answered, bad[:min(len(bad), 5)])
	}
}

// TestStopSchedulingKeepsAnswering: a -dev agent stops scheduling before it
// destroys its allocations, and its client then reports their end. The
// server must still take those writes and reads: the leader duties stopped,
// the leadership and its caught-up FSM did not. (Taking "duties stopped" for
// "not ready to lead" made every report wait for a leader that never came,
// and Ctrl-C took ten seconds ending in "final allocation update timed out".)
func TestStopSchedulingKeepsAnswering(t *testing.T) {
	s := testServer(t)
	s.StopScheduling()
	done := make(chan error, 1)
	go func() {
		var reply structs.JobRegisterResponse
		done <- s.RPC(structs.MethodJobRegister, &structs.JobRegisterRequest{Job: testJob("after-stop", 0)}, &reply)
	}()
	if err := <-done; err != nil {
		t.Fatalf("write after StopScheduling: %v", err)
	}
	var list structs.JobListResponse
	if err := s.RPC(structs.MethodJobList, &structs.JobListRequest{}, &list); err != nil || len(list.Jobs) != 1 {
		t.Fatalf("read after StopScheduling: %v, %d jobs", err, len(list.Jobs))
	}
}
