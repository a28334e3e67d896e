package server

import (
	"fmt"
	"sync"
	"testing"

	"github.com/roam-sh/roam/structs"
)

// TestCheckIndexConcurrentWritersOneWins: writers that all read index i
// and register with EnforceIndex at i race; exactly one may succeed, the
// others get a 400. The endpoint's own check reads the state before the
// entry is committed, so it alone lets several through (the chaos suite saw
// a check-and-set at index 154 applied after the job had moved to 168); the
// FSM checks again when it applies the entry.
func TestCheckIndexConcurrentWritersOneWins(t *testing.T) {
	s := testServer(t)
	first := registerJob(t, s, testJob("web", 0))
	const writers = 16
	var wg sync.WaitGroup
	errs := make([]error, writers)
	start := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job := testJob("web", 0)
			job.Meta = map[string]string{"writer": fmt.Sprint(i)}
			<-start
			var reply structs.JobRegisterResponse
			errs[i] = s.RPC(structs.MethodJobRegister, &structs.JobRegisterRequest{Job: job, EnforceIndex: true, JobModifyIndex: first.JobModifyIndex}, &reply)
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case ErrorCode(err) != 400:
			t.Errorf("writer %d: want a 400 conflict, got %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d check-and-set writers at index %d succeeded, want exactly 1", won, writers, first.JobModifyIndex)
	}
}

// TestRevertEnforcePriorVersionConcurrentOneWins: reverts that all name the
// same prior version race; only one may be applied, as for check-and-set
// registrations (the endpoint's check alone let several through).
func TestRevertEnforcePriorVersionConcurrentOneWins(t *testing.T) {
	s := testServer(t)
	registerJob(t, s, testJob("web", 0))
	v1 := testJob("web", 0)
	v1.Meta = map[string]string{"v": "1"}
	registerJob(t, s, v1)
	prior := uint64(1)
	const reverters = 16
	var wg sync.WaitGroup
	errs := make([]error, reverters)
	start := make(chan struct{})
	for i := range reverters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var reply structs.JobRegisterResponse
			errs[i] = s.RPC(structs.MethodJobRevert, &structs.JobRevertRequest{JobID: "web", JobVersion: 0, EnforcePriorVersion: &prior, WriteRequest: structs.WriteRequest{Namespace: "default"}}, &reply)
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case ErrorCode(err) != 400:
			t.Errorf("reverter %d: want a 400 conflict, got %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d reverts from prior version 1 succeeded, want exactly 1", won, reverters)
	}
}
