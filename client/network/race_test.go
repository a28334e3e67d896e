package network

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/roam-sh/roam/client/allocrunner"
	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// racingMode is a mode during whose Check (or Restore) the allocation's
// namespace is deleted, as `ip netns del` by a hand or a wipe can while a
// slow check runs. The old namespace is held open, as the tasks in it
// hold it: it lives on, with its own identity.
type racingMode struct {
	recordingMode
	mu       sync.Mutex
	deleting bool       // Check and Restore delete the namespace
	held     []*os.File // the deleted namespaces, kept alive
	replaced []bool     // the replaced argument of each Repair
}

var errRestore = errors.New("namespace deleted while restoring")

func (r *racingMode) Check(ctx context.Context, rec *state.NetworkRecord) []string {
	problems := r.recordingMode.Check(ctx, rec)
	if err := r.deleteHeld(rec.NSPath); err != nil {
		return append(problems, err.Error())
	}
	return problems
}

func (r *racingMode) Restore(_ context.Context, rec *state.NetworkRecord) (*structs.AllocNetworkStatus, error) {
	if err := r.deleteHeld(rec.NSPath); err != nil {
		return nil, err
	}
	return nil, errRestore
}

func (r *racingMode) Repair(ctx context.Context, rec *state.NetworkRecord, replaced bool) (*structs.AllocNetworkStatus, error) {
	r.mu.Lock()
	r.replaced = append(r.replaced, replaced)
	r.mu.Unlock()
	return r.recordingMode.Repair(ctx, rec, replaced)
}

// deleteHeld deletes the namespace at path, when told to, keeping it open.
func (r *racingMode) deleteHeld(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.deleting {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	r.held = append(r.held, f)
	if err := netns.Delete(path); err != nil {
		return err
	}
	return errors.New("namespace deleted")
}

func (r *racingMode) setDeleting(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deleting = on
}

func (r *racingMode) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.held {
		f.Close()
	}
}

// racingManager is a manager over a racingMode, with one allocation of
// that mode set up, and the allocations its repairs moved.
func racingManager(t *testing.T) (*Manager, *racingMode, *structs.Allocation, *[]string) {
	t.Helper()
	nstest.RequireRoot(t)
	mode := &racingMode{recordingMode: recordingMode{name: "test" + nstest.RandHex(2)}}
	m := newManager(openDB(t), []Mode{mode}, testutil.Logger(t))
	var mu sync.Mutex
	moved := &[]string{}
	m.SetCallbacks(Callbacks{Moved: func(id string, _ *allocrunner.NetworkResult) {
		mu.Lock()
		defer mu.Unlock()
		*moved = append(*moved, id)
	}})
	a := allocIn(structs.NetworkMode(mode.name))
	t.Cleanup(func() {
		_ = netns.Delete(netns.NamedPath(a.ID))
		mode.close()
	})
	if _, err := m.Setup(context.Background(), &allocrunner.NetworkRequest{Alloc: a}); err != nil {
		t.Fatal(err)
	}
	return m, mode, a, moved
}

// TestRepairFollowsANamespaceDeletedDuringItsCheck: a round finds the
// namespace in place, then it is deleted while the mode checks it; the
// round's repair makes it anew, so the round reports the move (the tasks
// are in the deleted one) and tells the mode the namespace is new. Deciding
// before the check missed it for good: the repair recorded the new
// namespace as the one configured, and later rounds found nothing wrong.
func TestRepairFollowsANamespaceDeletedDuringItsCheck(t *testing.T) {
	ctx := context.Background()
	m, mode, a, moved := racingManager(t)
	path := netns.NamedPath(a.ID)
	old := netns.Identity(path)
	live := map[string]bool{a.ID: true}

	mode.setDeleting(true)
	m.Repair(ctx, live)
	mode.setDeleting(false)
	if id := netns.Identity(path); id == 0 || id == old {
		t.Fatalf("namespace identity %d after the repair, %d before: want a new namespace", id, old)
	}
	if !slices.Equal(*moved, []string{a.ID}) {
		t.Fatalf("moved %v, want the allocation whose namespace was made anew", *moved)
	}
	if !slices.Equal(mode.replaced, []bool{true}) {
		t.Fatalf("Repair told replaced %v, want [true]", mode.replaced)
	}
	m.Repair(ctx, live) // the namespace is the one configured: no second move
	if len(*moved) != 1 {
		t.Fatalf("moved %v after a healthy round", *moved)
	}
}

// TestSetupFollowsANamespaceDeletedWhileRestoring: a restarted client's
// Setup finds its earlier namespace, which is deleted while the mode
// restores it; Setup makes it anew and says so (Fresh), so that tasks
// re-attached from the earlier run restart into it.
func TestSetupFollowsANamespaceDeletedWhileRestoring(t *testing.T) {
	m, mode, a, _ := racingManager(t)
	mode.setDeleting(true)
	res, err := m.Setup(context.Background(), &allocrunner.NetworkRequest{Alloc: a})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Replaced() {
		t.Fatalf("result %+v: want Restored and Fresh, the namespace was made anew", res)
	}
}
