package network

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/roam-sh/roam/client/allocrunner"
	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// recordingMode is a mode the tests register: it records the calls the
// manager makes and reports a problem when told to.
type recordingMode struct {
	name string
	mu   sync.Mutex
	// calls are "setup <alloc>", "check <alloc>" ... in order.
	calls  []string
	broken bool // Check reports a problem
}

func (r *recordingMode) Name() string { return r.name }

func (r *recordingMode) record(call string, rec *state.NetworkRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call+" "+rec.AllocID)
}

func (r *recordingMode) Setup(_ context.Context, rec *state.NetworkRecord) (*structs.AllocNetworkStatus, error) {
	r.record("setup", rec)
	if !netns.IsNamespace(rec.NSPath) {
		return nil, errNoNamespace
	}
	return &structs.AllocNetworkStatus{InterfaceName: r.name + "0"}, nil
}

func (r *recordingMode) Check(_ context.Context, rec *state.NetworkRecord) []string {
	r.record("check", rec)
	if r.broken {
		return []string{"broken on purpose"}
	}
	return nil
}

func (r *recordingMode) Repair(ctx context.Context, rec *state.NetworkRecord, _ bool) (*structs.AllocNetworkStatus, error) {
	r.record("repair", rec)
	return &structs.AllocNetworkStatus{InterfaceName: r.name + "0"}, nil
}

func (r *recordingMode) Teardown(_ context.Context, rec *state.NetworkRecord) error {
	r.record("teardown", rec)
	return nil
}

func (r *recordingMode) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

var errNoNamespace = errors.New("set up before the manager made the namespace")

func openDB(t *testing.T) *state.DB {
	t.Helper()
	db, err := state.Open(t.TempDir(), testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// allocIn is an allocation whose group asks for network mode mode.
func allocIn(mode structs.NetworkMode) *structs.Allocation {
	job := &structs.Job{ID: "web", Namespace: "default", TaskGroups: []*structs.TaskGroup{{
		Name: "g", Networks: []*structs.NetworkResource{{Mode: mode}},
	}}}
	return &structs.Allocation{ID: nstest.UUID(), Namespace: "default", JobID: job.ID, Job: job, TaskGroup: "g"}
}

// TestManagerRunsTheModesOfItsList: a mode that only a test's list holds
// is set up in a namespace the manager made, checked and repaired by a
// repair round, and torn down with its namespace and record; a mode the
// list lacks is refused with the names the list has.
func TestManagerRunsTheModesOfItsList(t *testing.T) {
	nstest.RequireRoot(t)
	ctx := context.Background()
	db := openDB(t)
	mode := &recordingMode{name: "test" + nstest.RandHex(2)}
	m := newManager(db, []Mode{hostMode{}, mode}, testutil.Logger(t))
	a := allocIn(structs.NetworkMode(mode.name))
	t.Cleanup(func() { _ = netns.Delete(netns.NamedPath(a.ID)) })

	res, err := m.Setup(ctx, &allocrunner.NetworkRequest{Alloc: a})
	if err != nil {
		t.Fatal(err)
	}
	if res.NSPath != netns.NamedPath(a.ID) || !netns.IsNamespace(res.NSPath) || res.Status.InterfaceName != mode.name+"0" {
		t.Fatalf("setup result %+v: want the mode's status in the allocation's namespace", res)
	}
	m.Repair(ctx, map[string]bool{a.ID: true}) // healthy: checked only
	mode.broken = true
	m.Repair(ctx, map[string]bool{a.ID: true}) // broken: checked and repaired
	if err := m.Teardown(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	want := []string{"setup " + a.ID, "check " + a.ID, "check " + a.ID, "repair " + a.ID, "teardown " + a.ID}
	if got := mode.seen(); !slices.Equal(got, want) {
		t.Fatalf("the manager called\n%v\nwant\n%v", got, want)
	}
	if netns.IsNamespace(res.NSPath) {
		t.Error("the namespace outlived the teardown")
	}
	if recs, _ := db.Networks(); recs[a.ID] != nil {
		t.Error("the record outlived the teardown")
	}

	_, err = m.Setup(ctx, &allocrunner.NetworkRequest{Alloc: allocIn("bridge")})
	if err == nil || !strings.Contains(err.Error(), `unsupported network mode "bridge" (this client has host, `+mode.name+")") {
		t.Fatalf("a mode outside the list: %v", err)
	}
}

// TestNewOffersTheBuiltinModes: the manager the client builds knows the
// modes of builtinModes, in its order, and refuses others by naming them.
func TestNewOffersTheBuiltinModes(t *testing.T) {
	m := New(Config{DisableBridge: true, CNIPath: t.TempDir(), CNIConfigDir: t.TempDir(), Logger: testutil.Logger(t)}, openDB(t))
	if got, want := m.modes.names(), "host, bridge, none, cni/<name>"; got != want {
		t.Fatalf("modes %q, want %q", got, want)
	}
	_, err := m.Setup(context.Background(), &allocrunner.NetworkRequest{Alloc: allocIn("overlay")})
	if err == nil || !strings.Contains(err.Error(), `unsupported network mode "overlay" (this client has host, bridge, none, cni/<name>)`) {
		t.Fatalf("an unknown mode: %v", err)
	}
	res, err := m.Setup(context.Background(), &allocrunner.NetworkRequest{Alloc: allocIn("host")})
	if err != nil || res.NSPath != "" {
		t.Fatalf("host mode: %+v %v, want no namespace", res, err)
	}
}

// TestLookupMatchesFamiliesByPrefix: cni/<name> resolves to the family,
// a bare "cni/" and names that only start like a mode do not.
func TestLookupMatchesFamiliesByPrefix(t *testing.T) {
	l := builtinModes(deps{})
	for name, want := range map[structs.NetworkMode]string{
		"host": "host", "bridge": "bridge", "none": "none", "cni/mynet": "cni/", "cni/": "", "bridge2": "", "cn": "",
	} {
		m, err := modeList(l).lookup(name)
		got := ""
		if err == nil {
			got = m.Name()
		}
		if got != want {
			t.Errorf("lookup(%q) = %q (%v), want %q", name, got, err, want)
		}
	}
}
