package executor

import (
	"os"
	"testing"
)

// TestSecurityPrivateStartZeroProvesNothing: a record with no start time
// (0, what a forged or truncated handle holds) never matches a live
// process, so nothing is signalled on its word; the true start does.
func TestSecurityPrivateStartZeroProvesNothing(t *testing.T) {
	pid := os.Getpid()
	start, err := ProcessStartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	if ProcessAlive(pid, 0) {
		t.Error("start 0 taken for a live process")
	}
	if !ProcessAlive(pid, start) {
		t.Error("the true start time not taken")
	}
	if ProcessAlive(pid, start+1) {
		t.Error("a wrong start time taken")
	}
	h := &Handle{ExecutorPID: pid, TaskPID: pid}
	if h.ExecutorAlive() || h.TaskAlive() {
		t.Error("a handle without start times is believed")
	}
}
