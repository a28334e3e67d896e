package testutil

import (
	"testing"
	"time"
)

// pollInterval is how often WaitFor re-checks its condition. It bounds how late
// WaitFor notices a change, never how long a test waits for one.
const pollInterval = 10 * time.Millisecond

// WaitFor calls cond until it returns nil, failing the test with cond's last
// error once within has passed. cond says why it is not yet satisfied, so a
// timeout reports the state the test was stuck in rather than "timed out".
//
// Tests use it instead of time.Sleep: they wait for the condition they need,
// and only for as long as it takes.
func WaitFor(t testing.TB, within time.Duration, cond func() error) {
	t.Helper()
	if err := Poll(within, cond); err != nil {
		t.Fatalf("condition not met within %v: %v", within, err)
	}
}

// Poll is WaitFor without a test: it returns cond's last error when within
// passes, or nil as soon as cond holds.
func Poll(within time.Duration, cond func() error) error {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		<-tick.C
	}
}
