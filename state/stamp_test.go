package state

import (
	"bytes"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

// restored persists s and restores it into a new store.
func restored(t *testing.T, s *StateStore) *StateStore {
	t.Helper()
	var buf bytes.Buffer
	must(t, s.Snapshot().Persist(&buf))
	r := newStore(t)
	must(t, r.Restore(&buf))
	return r
}

// An allocation whose job is not the stored version row keeps its own job
// through a snapshot: re-attaching the row would restore another state than
// the one persisted (a follower restored from a snapshot would disagree with
// the leader).
func TestSnapshotKeepsAnAllocationsOwnJob(t *testing.T) {
	s := newStore(t)
	must(t, s.UpsertJob(1, nil, testJob("api")))
	job, _ := s.JobByID(nil, "default", "api")
	a := testAlloc(job, structs.GenerateUUID())
	must(t, s.UpsertPlanResults(2, &structs.ApplyPlanResultsRequest{Job: job, AllocsUpdated: []*structs.Allocation{a.CopySkipJob()}}))

	// Marking the version stable replaces its row; the allocation keeps the
	// job it was placed with.
	must(t, s.UpdateJobStability(3, "default", "api", 0, true))
	r := restored(t, s)
	live, _ := s.AllocByID(nil, a.ID)
	back, _ := r.AllocByID(nil, a.ID)
	if back.Job.Stable != live.Job.Stable || back.Job.ModifyIndex != live.Job.ModifyIndex {
		t.Fatalf("restored allocation's job: stable %v modify index %d, the store had %v %d",
			back.Job.Stable, back.Job.ModifyIndex, live.Job.Stable, live.Job.ModifyIndex)
	}

	// The job is purged and registered again under its ID: version 0 is now
	// another job, which the old allocation must not join after a restore.
	must(t, s.DeleteJob(4, "default", "api"))
	must(t, s.UpsertJob(5, nil, testJob("api")))
	r = restored(t, s)
	for name, st := range map[string]*StateStore{"live": s, "restored": r} {
		if allocs, _ := st.AllocsByJob(nil, "default", "api", false); len(allocs) != 0 {
			t.Fatalf("%s: the purged job's allocation counts as the new job's", name)
		}
	}
}

// Node times come from the entry: StatusUpdatedAt changes with the status
// only, and the registration event is dated by it.
func TestNodeRegistrationTimesComeFromTheEntry(t *testing.T) {
	s := newStore(t)
	id := structs.GenerateUUID()
	register := func(index uint64, status structs.NodeStatus, at int64) *structs.Node {
		t.Helper()
		must(t, s.UpsertNode(index, &structs.Node{ID: id, Status: status, StatusUpdatedAt: at}))
		n, _ := s.NodeByID(nil, id)
		return n
	}
	n := register(1, structs.NodeStatusInit, 100)
	if n.StatusUpdatedAt != 100 || len(n.Events) != 1 || !n.Events[0].Timestamp.Equal(time.Unix(100, 0)) {
		t.Fatalf("new node: status updated at %d, events %+v", n.StatusUpdatedAt, n.Events)
	}
	if n = register(2, structs.NodeStatusInit, 200); n.StatusUpdatedAt != 100 {
		t.Fatalf("same status: status updated at %d, want 100", n.StatusUpdatedAt)
	}
	if n = register(3, structs.NodeStatusReady, 300); n.StatusUpdatedAt != 300 {
		t.Fatalf("new status: status updated at %d, want 300", n.StatusUpdatedAt)
	}
}

// Allocation times come from the entry; an entry without one leaves the
// stored time alone.
func TestAllocationTimesComeFromTheEntry(t *testing.T) {
	s := newStore(t)
	must(t, s.UpsertJob(1, nil, testJob("api")))
	job, _ := s.JobByID(nil, "default", "api")
	a := testAlloc(job, structs.GenerateUUID())
	must(t, s.UpsertPlanResults(2, &structs.ApplyPlanResultsRequest{Job: job, AllocsUpdated: []*structs.Allocation{a.CopySkipJob()}, UpdatedAt: 1000}))
	got, _ := s.AllocByID(nil, a.ID)
	if got.CreateTime != 1000 || got.ModifyTime != 1000 {
		t.Fatalf("placed: create %d modify %d, want the plan's 1000", got.CreateTime, got.ModifyTime)
	}
	must(t, s.UpdateAllocsFromClient(3, []*structs.Allocation{{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning}}))
	if got, _ = s.AllocByID(nil, a.ID); got.ModifyTime != 1000 {
		t.Fatalf("client update without a time: modify %d, want 1000 kept", got.ModifyTime)
	}
	must(t, s.UpdateAllocsFromClient(4, []*structs.Allocation{{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning, ModifyTime: 2000}}))
	must(t, s.UpsertPlanResults(5, &structs.ApplyPlanResultsRequest{Job: job, AllocsStopped: []*structs.Allocation{{ID: a.ID, DesiredStatus: structs.AllocDesiredStatusStop}}, UpdatedAt: 3000}))
	if got, _ = s.AllocByID(nil, a.ID); got.CreateTime != 1000 || got.ModifyTime != 3000 {
		t.Fatalf("stopped: create %d modify %d, want 1000 and 3000", got.CreateTime, got.ModifyTime)
	}
}
