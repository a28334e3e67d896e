package servicereg

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-sh/roam/internal/backoff"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// refusingCatalog refuses every write, as the servers refuse a terminal
// allocation's identity, and counts the tries.
type refusingCatalog struct{ calls atomic.Int32 }

func (c *refusingCatalog) refuse() error {
	c.calls.Add(1)
	return fmt.Errorf("rpc: %w", structs.ErrPermissionDenied)
}
func (c *refusingCatalog) Register(context.Context, string, []*structs.ServiceRegistration) error {
	return c.refuse()
}
func (c *refusingCatalog) Deregister(context.Context, string, []string) error { return c.refuse() }
func (c *refusingCatalog) UpdateHealth(context.Context, string, []*structs.ServiceHealthUpdate) error {
	return c.refuse()
}

type memState struct{ b []byte }

func (s *memState) Saved() []byte       { return s.b }
func (s *memState) Save(b []byte) error { s.b = b; return nil }

// A refused credential ends the attempts at once with the refusal: the
// same token would be refused again, and a register retried for ever held
// the services hook, so the allocation's teardown never ran.
func TestRefusedCredentialIsNotRetried(t *testing.T) {
	cat := &refusingCatalog{}
	r := &Registrar{Catalog: cat, Logger: testutil.Logger(t), Retry: backoff.Backoff{Min: time.Millisecond, Max: time.Millisecond}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := &memState{}
	inst := &Instance{Registration: &structs.ServiceRegistration{ID: "_nomad-task-a-group-g-web-80"}, Token: "jwt"}
	err := r.Register(ctx, st, []*Instance{inst})
	if !errors.Is(err, structs.ErrPermissionDenied) || cat.calls.Load() != 1 {
		t.Fatalf("register: %v after %d tries, want the refusal after one", err, cat.calls.Load())
	}
	if err := r.Deregister(ctx, st); !errors.Is(err, structs.ErrPermissionDenied) || cat.calls.Load() != 2 {
		t.Fatalf("deregister: %v after %d tries in all, want the refusal after one more", err, cat.calls.Load())
	}
}
