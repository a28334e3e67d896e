package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

// stuckFuture is a Raft future that is never answered, as Raft leaves an
// entry still queued for its leader loop when it shuts down.
type stuckFuture struct{}

func (stuckFuture) Error() error  { select {} }
func (stuckFuture) Index() uint64 { return 0 }
func (stuckFuture) Response() any { return nil }

func TestWaitApplyGivesUpOnShutdown(t *testing.T) {
	s := &Server{}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.waitApply(stuckFuture{}) }()
	s.cancel()
	select {
	case err := <-done:
		if !errors.Is(err, structs.ErrShutdown) {
			t.Fatalf("want structs.ErrShutdown, got %v", err)
		}
	case <-time.After(waitLong):
		t.Fatal("a write waiting on Raft held up shutdown")
	}
}
