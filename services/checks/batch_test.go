package checks_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/services/checks"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// sent records the batches a batcher sent.
type sent struct {
	mu      sync.Mutex
	batches []string // "token: id=health id=health"
	fail    int      // fail this many sends first
}

func (s *sent) send(_ context.Context, token string, ups []*structs.ServiceHealthUpdate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return errors.New("no leader")
	}
	b := token + ":"
	for _, u := range ups {
		b += fmt.Sprintf(" %s=%s", u.ID, u.Health)
	}
	s.batches = append(s.batches, b)
	return nil
}

func (s *sent) waitFor(t *testing.T, want ...string) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		got := slices.Clone(s.batches)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("batches %q, want %q", got, want)
		}
		return nil
	})
}

func up(id string, h structs.HealthStatus) *structs.ServiceHealthUpdate {
	return &structs.ServiceHealthUpdate{ID: id, Health: h}
}

func TestBatcherCoalescesIntoOneSendPerToken(t *testing.T) {
	var s sent
	b := checks.NewBatcher(s.send, 200*time.Millisecond, testutil.Logger(t))
	go b.Run(testutil.Context(t))
	b.Put("tokA", up("r1", structs.HealthCritical))
	b.Put("tokA", up("r2", structs.HealthPassing))
	b.Put("tokA", up("r1", structs.HealthPassing)) // replaces r1's critical
	b.Put("tokB", up("r3", structs.HealthWarning))
	s.waitFor(t, "tokA: r2=passing r1=passing", "tokB: r3=warning")
	b.Put("tokA", up("r1", structs.HealthCritical))
	s.waitFor(t, "tokA: r1=critical", "tokA: r2=passing r1=passing", "tokB: r3=warning")
}

func TestBatcherRetriesKeepingTheNewest(t *testing.T) {
	s := sent{fail: 2}
	b := checks.NewBatcher(s.send, 10*time.Millisecond, testutil.Logger(t))
	go b.Run(testutil.Context(t))
	b.Put("", up("r1", structs.HealthCritical))
	testutil.WaitFor(t, 10*time.Second, func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.fail > 1 {
			return errors.New("first send not tried yet")
		}
		return nil
	})
	b.Put("", up("r1", structs.HealthPassing)) // newer than the failed one
	s.waitFor(t, ": r1=passing")
	if b.Pending() != 0 {
		t.Fatalf("%d updates still pending", b.Pending())
	}
}
