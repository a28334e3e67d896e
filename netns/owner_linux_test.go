package netns_test

import (
	"slices"
	"testing"

	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/nstest"
)

// TestLeftoversOfStoppedClientsOnly: of two -dev clients' records, the one
// whose lock is still held (a running client) is live and its namespace
// stays; the stopped one's namespace and record are removed. A stopped
// client with persistent state keeps its record and namespace for its next
// start.
func TestLeftoversOfStoppedClientsOnly(t *testing.T) {
	nstest.RequireRoot(t)
	n := nstest.Unique(t)
	dir := t.TempDir()
	info := func(id string, ephemeral bool) netns.OwnerInfo {
		return netns.OwnerInfo{ID: id, Ephemeral: ephemeral, ChainPrefix: n.ChainPrefix, VethPrefix: n.VethPrefix}
	}
	nsOf := map[string]string{}
	for _, id := range []string{"running", "stopped", "persistent"} {
		o, err := netns.AcquireOwner(dir, info(id, id != "persistent"))
		if err != nil {
			t.Fatal(err)
		}
		allocID := nstest.UUID()
		nsOf[id] = netns.NamedPath(allocID)
		if err := o.Claim(allocID); err != nil {
			t.Fatal(err)
		}
		if _, err := netns.Create(nsOf[id]); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { netns.Delete(nsOf[id]) })
		if id == "running" {
			t.Cleanup(func() { o.Close(true) })
			if _, err := netns.AcquireOwner(dir, info(id, true)); err == nil {
				t.Error("a second owner took the record of a running one")
			}
		} else if err := o.Close(false); err != nil {
			t.Fatal(err)
		}
	}
	live, left, err := netns.Owners(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 || live[0].ID != "running" {
		t.Fatalf("live owners %+v, want the running one", live)
	}
	if len(left) != 2 {
		t.Fatalf("leftovers %+v, want the stopped and the persistent", left)
	}
	for _, l := range left {
		if l.Removable() {
			if err := netns.RemoveLeftover(dir, l, live); err != nil {
				t.Fatal(err)
			}
		}
	}
	for id, want := range map[string]bool{"running": true, "stopped": false, "persistent": true} {
		if got := netns.IsNamespace(nsOf[id]); got != want {
			t.Errorf("%s client's namespace present %v, want %v", id, got, want)
		}
	}
	_, left, _ = netns.Owners(dir)
	if !slices.ContainsFunc(left, func(l netns.Leftover) bool { return l.Info.ID == "persistent" }) || len(left) != 1 {
		t.Fatalf("leftovers after removal %+v, want the persistent one alone", left)
	}
	// Pruned while its namespace is there, the record stays; once nothing
	// of it is left on the host, it goes.
	if err := netns.PruneLeftover(dir, left[0]); err != nil {
		t.Fatal(err)
	}
	if _, left, _ = netns.Owners(dir); len(left) != 1 {
		t.Fatalf("a record whose namespace remains was pruned: %+v", left)
	}
	netns.Delete(nsOf["persistent"])
	if err := netns.PruneLeftover(dir, left[0]); err != nil {
		t.Fatal(err)
	}
	if _, left, _ = netns.Owners(dir); len(left) != 0 {
		t.Errorf("a record of nothing left on the host stays: %+v", left)
	}
}
