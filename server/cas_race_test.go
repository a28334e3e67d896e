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
	oneWins(t, "check-and-set writer", func(i int) error {
		job := testJob("web", 0)
		job.Meta = map[string]string{"writer": fmt.Sprint(i)}
		var reply structs.JobRegisterResponse
		return s.RPC(structs.MethodJobRegister, &structs.JobRegisterRequest{Job: job, EnforceIndex: true, JobModifyIndex: first.JobModifyIndex}, &reply)
	})
}

// oneWins runs 16 calls at once and requires exactly one to succeed and
// every other to fail with a 400 conflict.
func oneWins(t *testing.T, what string, call func(i int) error) {
	t.Helper()
	const callers = 16
	var wg sync.WaitGroup
	errs := make([]error, callers)
	start := make(chan struct{})
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = call(i)
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
			t.Errorf("%s %d: want a 400 conflict, got %v", what, i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d racing calls (%s) succeeded, want exactly 1", won, callers, what)
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
	oneWins(t, "revert from prior version 1", func(int) error {
		var reply structs.JobRegisterResponse
		return s.RPC(structs.MethodJobRevert, &structs.JobRevertRequest{JobID: "web", JobVersion: 0, EnforcePriorVersion: &prior, WriteRequest: structs.WriteRequest{Namespace: "default"}}, &reply)
	})
}
