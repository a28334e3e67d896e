package servicereg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/roam-sh/roam/internal/backoff"
	"github.com/roam-sh/roam/structs"
)

// State is a hook's saved state (a *taskrunner.HookState): where a
// Registrar keeps the IDs it registered, so a restarted client deregisters
// exactly those.
type State interface {
	Saved() []byte
	Save([]byte) error
}

// saved is what a Registrar keeps in its State.
type saved struct {
	IDs   []string
	Token string
}

// Registrar registers and deregisters one owner's instances.
type Registrar struct {
	Catalog Catalog
	// Instances, if set, is told what is registered (for the check runner).
	Instances *Instances
	Owner     Owner
	Logger    *slog.Logger
	// Retry spaces attempts at the servers; the zero value uses 200ms to 5s.
	Retry backoff.Backoff
}

// deregisterAttempts bounds the tries of a deregistration: the servers also
// remove an allocation's instances once it is terminal, so giving up leaves
// nothing behind for long.
const deregisterAttempts = 5

// Register upserts insts, retrying until it succeeds or ctx ends, and
// deregisters what an earlier Register saved but insts no longer holds (a
// service renamed by an in-place update). Registering the same instances
// again changes nothing on the servers.
func (r *Registrar) Register(ctx context.Context, st State, insts []*Instance) error {
	if r.Catalog == nil {
		return nil // no catalog configured (tests of other parts)
	}
	prev := load(st)
	ids := make([]string, len(insts))
	for i, in := range insts {
		ids[i] = in.Registration.ID
	}
	if stale := without(prev.IDs, ids); len(stale) > 0 {
		if err := r.deregister(ctx, prev.Token, stale, deregisterAttempts); err != nil {
			r.Logger.Warn("removing renamed service instances", "ids", stale, "error", err)
		}
	}
	if len(insts) == 0 {
		r.publish(nil)
		return st.Save(nil)
	}
	tok := insts[0].Token
	// Save first: a client killed between the upsert and the save would
	// otherwise leave instances it does not know it registered.
	if err := save(st, saved{IDs: ids, Token: tok}); err != nil {
		return err
	}
	regs := make([]*structs.ServiceRegistration, len(insts))
	for i, in := range insts {
		regs[i] = in.Registration
	}
	if err := r.retry(ctx, 0, func() error { return r.Catalog.Register(ctx, tok, regs) }); err != nil {
		return fmt.Errorf("register %s services: %w", r.Owner, err)
	}
	r.publish(insts)
	return nil
}

// Deregister removes every instance the state says this owner registered,
// in this client process or an earlier one. It is idempotent.
func (r *Registrar) Deregister(ctx context.Context, st State) error {
	if r.Catalog == nil {
		return nil
	}
	r.publish(nil)
	prev := load(st)
	if len(prev.IDs) == 0 {
		return nil
	}
	if err := r.deregister(ctx, prev.Token, prev.IDs, deregisterAttempts); err != nil {
		return fmt.Errorf("deregister %s services: %w", r.Owner, err)
	}
	return st.Save(nil)
}

// Registered returns the IDs the state holds.
func Registered(st State) []string { return load(st).IDs }

func (r *Registrar) deregister(ctx context.Context, token string, ids []string, attempts int) error {
	return r.retry(ctx, attempts, func() error { return r.Catalog.Deregister(ctx, token, ids) })
}

func (r *Registrar) publish(insts []*Instance) {
	if r.Instances != nil {
		r.Instances.Put(r.Owner, insts)
	}
}

// retry calls fn until it succeeds, ctx ends, attempts (0: no limit) ran,
// or the servers refuse the credential: a refusal is an answer, not an
// outage, and the same token is refused again (an allocation's identity
// stops being accepted once the allocation is terminal). Retrying it for
// ever held the services hook's lock, so the allocation's Postrun never
// ran: its namespace and port mappings outlived it and shadowed the
// static ports of its replacement on the same node.
func (r *Registrar) retry(ctx context.Context, attempts int, fn func() error) error {
	b := r.Retry
	if b.Min == 0 {
		b = backoff.Backoff{Min: 200 * time.Millisecond, Max: 5 * time.Second}
	}
	for i := 1; ; i++ {
		err := fn()
		if err == nil || (attempts > 0 && i >= attempts) || errors.Is(err, structs.ErrPermissionDenied) {
			return err
		}
		r.Logger.Warn("service catalog unreachable; retrying", "owner", r.Owner.String(), "error", err)
		t := time.NewTimer(b.Next())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		}
	}
}

func load(st State) saved {
	var s saved
	if b := st.Saved(); len(b) > 0 {
		_ = json.Unmarshal(b, &s) // a blob from an unknown version holds nothing we can use
	}
	return s
}

func save(st State, s saved) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return st.Save(b)
}

func without(all, drop []string) []string {
	var out []string
	for _, id := range all {
		if !slices.Contains(drop, id) {
			out = append(out, id)
		}
	}
	return out
}
