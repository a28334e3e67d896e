package state

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

func testJob(id string) *structs.Job {
	return &structs.Job{
		ID: id, Name: id, Namespace: "default", Type: structs.JobTypeService, Priority: 50,
		TaskGroups: []*structs.TaskGroup{{Name: "web", Count: 2, Tasks: []*structs.Task{{Name: "t", Driver: "raw_exec"}}}},
	}
}

func testAlloc(job *structs.Job, node string) *structs.Allocation {
	return &structs.Allocation{
		ID: structs.GenerateUUID(), Namespace: job.Namespace, JobID: job.ID, Job: job,
		TaskGroup: "web", NodeID: node, Name: structs.AllocName(job.ID, "web", 0),
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
	}
}

func newStore(t *testing.T) *StateStore {
	t.Helper()
	s, err := NewStateStore()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJobVersionsAndExactDelete(t *testing.T) {
	s := newStore(t)
	for i := uint64(1); i <= 8; i++ {
		if err := s.UpsertJob(i, nil, testJob("api")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UpsertJob(9, nil, testJob("api-2")); err != nil {
		t.Fatal(err)
	}
	vs, _ := s.JobVersionsByID(nil, "default", "api")
	if len(vs) != JobTrackedVersions || vs[0].Version != 7 {
		t.Fatalf("want %d versions newest 7, got %d newest %d", JobTrackedVersions, len(vs), vs[0].Version)
	}
	if err := s.DeleteJob(10, "default", "api"); err != nil {
		t.Fatal(err)
	}
	// Deleting "api" must not touch "api-2", whose ID shares the prefix.
	if j, _ := s.JobByID(nil, "default", "api-2"); j == nil {
		t.Fatal("deleting api removed api-2")
	}
	if vs, _ := s.JobVersionsByID(nil, "default", "api-2"); len(vs) != 1 {
		t.Fatalf("api-2 versions: %d", len(vs))
	}
	if err := s.DeleteJob(11, "default", "nope"); err == nil {
		t.Fatal("deleting a missing job must fail")
	}
}

func TestPlanResultsSummaryAndJobStatus(t *testing.T) {
	s := newStore(t)
	job := testJob("api")
	must(t, s.UpsertJob(1, nil, job))
	job, _ = s.JobByID(nil, "default", "api")
	eval := &structs.Evaluation{ID: structs.GenerateUUID(), Namespace: "default", JobID: "api", Status: structs.EvalStatusPending}
	must(t, s.UpsertEvals(2, []*structs.Evaluation{eval}))
	if j, _ := s.JobByID(nil, "default", "api"); j.Status != structs.JobStatusPending {
		t.Fatalf("status with pending eval: %s", j.Status)
	}
	a1, a2 := testAlloc(job, "n1"), testAlloc(job, "n2")
	must(t, s.UpsertPlanResults(3, &structs.ApplyPlanResultsRequest{Job: job, AllocsUpdated: []*structs.Allocation{a1.CopySkipJob(), a2.CopySkipJob()}}))

	got, _ := s.AllocByID(nil, a1.ID)
	if got.Job != job {
		t.Fatal("allocations must share the stored job version")
	}
	if j, _ := s.JobByID(nil, "default", "api"); j.Status != structs.JobStatusRunning {
		t.Fatalf("status with live allocs: %s", j.Status)
	}
	up := &structs.Allocation{ID: a1.ID, ClientStatus: structs.AllocClientStatusRunning}
	must(t, s.UpdateAllocsFromClient(4, []*structs.Allocation{up}))
	got, _ = s.AllocByID(nil, a1.ID)
	if got.AllocModifyIndex != 3 || got.ModifyIndex != 4 {
		t.Fatalf("client update must not bump AllocModifyIndex: %d/%d", got.AllocModifyIndex, got.ModifyIndex)
	}
	sum, _ := s.JobSummaryByID(nil, "default", "api")
	if tg := sum.Summary["web"]; tg.Running != 1 || tg.Starting != 1 {
		t.Fatalf("summary: %+v", tg)
	}

	must(t, s.UpsertPlanResults(5, &structs.ApplyPlanResultsRequest{Job: job, AllocsStopped: []*structs.Allocation{
		{ID: a1.ID, DesiredStatus: structs.AllocDesiredStatusStop}, {ID: a2.ID, DesiredStatus: structs.AllocDesiredStatusStop},
	}}))
	eval.Status = structs.EvalStatusComplete
	must(t, s.UpsertEvals(6, []*structs.Evaluation{eval}))
	if j, _ := s.JobByID(nil, "default", "api"); j.Status != structs.JobStatusDead {
		t.Fatalf("status with everything stopped: %s", j.Status)
	}
	live, _ := s.AllocsByNodeTerminal(nil, "n1", false)
	if len(live) != 0 {
		t.Fatalf("stopped alloc still listed as live on its node")
	}
}

func TestBlockingQueryWakesOnWrite(t *testing.T) {
	s := newStore(t)
	must(t, s.UpsertJob(5, nil, testJob("a")))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan uint64)
	go func() {
		_, idx, _ := s.BlockingQuery(ctx, 5, func(ws memdb.WatchSet, s *StateStore) (any, uint64, error) {
			_, err := s.Jobs(ws, "*", "")
			return nil, s.JobsIndex(ws), err
		})
		done <- idx
	}()
	must(t, s.UpsertJob(6, nil, testJob("b")))
	select {
	case idx := <-done:
		if idx != 6 {
			t.Fatalf("woke with index %d", idx)
		}
	case <-ctx.Done():
		t.Fatal("blocking query did not wake on write")
	}
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	s := newStore(t)
	must(t, s.UpsertJob(1, &structs.JobSubmission{Source: "job \"api\" {}", Format: "hcl2"}, testJob("api")))
	job, _ := s.JobByID(nil, "default", "api")
	node := &structs.Node{ID: structs.GenerateUUID(), SecretID: "sec", Name: "n1", Status: structs.NodeStatusReady}
	must(t, s.UpsertNode(2, node))
	a := testAlloc(job, node.ID)
	must(t, s.UpsertPlanResults(3, &structs.ApplyPlanResultsRequest{Job: job, AllocsUpdated: []*structs.Allocation{a}}))

	var buf bytes.Buffer
	must(t, s.Snapshot().Persist(&buf))
	r := newStore(t)
	must(t, r.Restore(&buf))

	got, _ := r.AllocByID(nil, a.ID)
	if got == nil || got.Job == nil || got.Job.ID != "api" {
		t.Fatalf("alloc not restored with its job: %+v", got)
	}
	stored, _ := r.JobByIDAndVersion(nil, "default", "api", 0)
	if got.Job != stored {
		t.Fatal("restored alloc must share the job version pointer")
	}
	n, _ := r.NodeByID(nil, node.ID)
	if n == nil || n.SecretID != "sec" {
		t.Fatalf("node secret lost: %+v", n)
	}
	if sub, _ := r.JobSubmission(nil, "default", "api", 0); sub == nil || sub.Source == "" {
		t.Fatal("submission lost")
	}
	if idx, _ := r.LatestIndex(); idx != 3 {
		t.Fatalf("latest index %d", idx)
	}
}

func TestPrefixLookups(t *testing.T) {
	s := newStore(t)
	job := testJob("api")
	must(t, s.UpsertJob(1, nil, job))
	a := testAlloc(job, "n")
	a.ID = "abc12345-0000-4000-8000-000000000000"
	must(t, s.UpsertAllocs(2, []*structs.Allocation{a}))
	for _, tc := range []struct {
		prefix string
		want   int
	}{{"a", 1}, {"ab", 1}, {"abc", 1}, {"abc12345-0", 1}, {"abd", 0}, {"zz", 0}, {"", 1}} {
		got, err := s.Allocs(nil, "*", tc.prefix)
		if err != nil || len(got) != tc.want {
			t.Errorf("prefix %q: got %d (%v), want %d", tc.prefix, len(got), err, tc.want)
		}
	}
}

func TestNodeReRegisterKeepsServerOwnedFields(t *testing.T) {
	s := newStore(t)
	n := &structs.Node{ID: structs.GenerateUUID(), Status: structs.NodeStatusReady}
	must(t, s.UpsertNode(1, n))
	must(t, s.UpdateNodeEligibility(2, n.ID, structs.NodeSchedulingIneligible, nil))
	must(t, s.UpsertNode(3, n))
	got, _ := s.NodeByID(nil, n.ID)
	if got.SchedulingEligibility != structs.NodeSchedulingIneligible {
		t.Fatalf("re-registration reset eligibility to %s", got.SchedulingEligibility)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestNodeAllocsIndexFollowsServerChangesOnly(t *testing.T) {
	s := newStore(t)
	n1, n2 := structs.GenerateUUID(), structs.GenerateUUID()
	must(t, s.UpsertNode(1, &structs.Node{ID: n1, Status: structs.NodeStatusReady}))
	if got := s.NodeAllocsIndex(nil, n1); got != 1 {
		t.Fatalf("a registered node starts at its registration index, got %d", got)
	}
	job := testJob("api")
	must(t, s.UpsertJob(2, nil, job))
	job, _ = s.JobByID(nil, "default", "api")
	a := testAlloc(job, n1)
	must(t, s.UpsertPlanResults(3, &structs.ApplyPlanResultsRequest{Job: job, AllocsUpdated: []*structs.Allocation{a.CopySkipJob()}}))
	if got := s.NodeAllocsIndex(nil, n1); got != 3 {
		t.Fatalf("after a placement: %d, want 3", got)
	}

	ws := memdb.NewWatchSet()
	s.NodeAllocsIndex(ws, n1)
	must(t, s.UpdateAllocsFromClient(4, []*structs.Allocation{{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning}}))
	must(t, s.UpsertNode(5, &structs.Node{ID: n2, Status: structs.NodeStatusReady}))
	if !ws.Watch(time.After(20 * time.Millisecond)) {
		t.Fatal("a client's own status report or another node woke the watch")
	}
	must(t, s.UpsertPlanResults(6, &structs.ApplyPlanResultsRequest{Job: job, AllocsStopped: []*structs.Allocation{{ID: a.ID, DesiredStatus: structs.AllocDesiredStatusStop}}}))
	if ws.Watch(time.After(time.Second)) {
		t.Fatal("a stop did not wake the watch")
	}
	must(t, s.DeleteEvals(7, nil, []string{a.ID}))
	if got := s.NodeAllocsIndex(nil, n1); got != 7 {
		t.Fatalf("after removal: %d, want 7", got)
	}
}

func TestRestoreRebuildsNodeAllocsIndex(t *testing.T) {
	s := newStore(t)
	n1, n2 := structs.GenerateUUID(), structs.GenerateUUID()
	must(t, s.UpsertNode(1, &structs.Node{ID: n1, Status: structs.NodeStatusReady}))
	job := testJob("api")
	must(t, s.UpsertJob(2, nil, job))
	job, _ = s.JobByID(nil, "default", "api")
	must(t, s.UpsertPlanResults(3, &structs.ApplyPlanResultsRequest{Job: job, AllocsUpdated: []*structs.Allocation{testAlloc(job, n2).CopySkipJob()}}))
	var buf bytes.Buffer
	must(t, s.Snapshot().Persist(&buf))
	r := newStore(t)
	must(t, r.Restore(&buf))
	for _, id := range []string{n1, n2} {
		if got := r.NodeAllocsIndex(nil, id); got != 3 {
			t.Errorf("restored %s: %d, want the allocs index 3", id, got)
		}
	}
}

// usageFromAllocs adds up the node's live allocations the slow way.
func usageFromAllocs(t *testing.T, s *StateStore, nodeID string) structs.NodeAllocUsage {
	live, err := s.AllocsByNodeTerminal(nil, nodeID, false)
	must(t, err)
	u := structs.NodeAllocUsage{NodeID: nodeID}
	for _, a := range live {
		u.Add(a, 1)
	}
	return u
}

func sameUsage(a, b *structs.NodeAllocUsage) bool {
	return a.Used == b.Used && a.Live == b.Live && len(a.Cores) == len(b.Cores)
}

func TestNodeAllocUsageFollowsAllocations(t *testing.T) {
	s := newStore(t)
	n1, n2 := structs.GenerateUUID(), structs.GenerateUUID()
	job := testJob("api")
	must(t, s.UpsertJob(1, nil, job))
	job, _ = s.JobByID(nil, "default", "api")
	var allocs []*structs.Allocation
	for i := range 6 {
		a := testAlloc(job, []string{n1, n2}[i%2])
		a.AllocatedResources = &structs.AllocatedResources{
			Tasks: map[string]*structs.AllocatedTaskResources{"t": {
				Cpu:    structs.AllocatedCpuResources{CpuShares: int64(100 * (i + 1)), ReservedCores: []uint16{uint16(i)}},
				Memory: structs.AllocatedMemoryResources{MemoryMB: 64},
			}},
			Shared: structs.AllocatedSharedResources{DiskMB: 10},
		}
		allocs = append(allocs, a.CopySkipJob())
	}
	check := func(step string, st *StateStore) {
		t.Helper()
		for _, n := range []string{n1, n2} {
			got, err := st.NodeAllocUsage(nil, n)
			must(t, err)
			if want := usageFromAllocs(t, st, n); !sameUsage(got, &want) {
				t.Fatalf("%s: node usage %+v, want %+v", step, got, want)
			}
		}
	}
	must(t, s.UpsertPlanResults(2, &structs.ApplyPlanResultsRequest{Job: job, AllocsUpdated: allocs}))
	check("placed", s)
	must(t, s.UpdateAllocsFromClient(3, []*structs.Allocation{
		{ID: allocs[0].ID, ClientStatus: structs.AllocClientStatusRunning},
		{ID: allocs[1].ID, ClientStatus: structs.AllocClientStatusFailed},
	}))
	check("client updates", s)
	must(t, s.UpsertPlanResults(4, &structs.ApplyPlanResultsRequest{Job: job,
		AllocsStopped: []*structs.Allocation{{ID: allocs[2].ID, DesiredStatus: structs.AllocDesiredStatusStop}}}))
	check("stopped", s)
	must(t, s.DeleteEvals(5, nil, []string{allocs[3].ID, allocs[1].ID}))
	check("removed", s)
	var buf bytes.Buffer
	must(t, s.Snapshot().Persist(&buf))
	r := newStore(t)
	must(t, r.Restore(&buf))
	check("restored", r)
	if u, _ := r.NodeAllocUsage(nil, n2); u.Live != 1 || u.Used.CPUShares != 600 {
		t.Fatalf("n2 keeps only its sixth allocation, usage says %+v", u)
	}
}

// TestClientHealthKeepsServerCanary: a client's health report lands in the
// allocation's deployment status, but Canary stays what the servers set
// (a report that still says canary after a promotion changes nothing).
func TestClientHealthKeepsServerCanary(t *testing.T) {
	s := newStore(t)
	job := testJob("api")
	must(t, s.UpsertJob(1, nil, job))
	a := testAlloc(job, "n")
	a.DeploymentID = structs.GenerateUUID()
	a.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	must(t, s.UpsertAllocs(2, []*structs.Allocation{a}))
	healthy, ts := true, time.Unix(1700000000, 0).UTC()
	for _, tc := range []struct {
		index      uint64
		report     *structs.AllocDeploymentStatus
		wantCanary bool
	}{
		{3, &structs.AllocDeploymentStatus{Healthy: &healthy, Timestamp: ts}, true},
		{4, &structs.AllocDeploymentStatus{Healthy: &healthy, Timestamp: ts, Canary: false}, true},
	} {
		u := &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning, DeploymentStatus: tc.report}
		must(t, s.UpdateAllocsFromClient(tc.index, []*structs.Allocation{u}))
		got, _ := s.AllocByID(nil, a.ID)
		ds := got.DeploymentStatus
		if ds == nil || ds.Healthy == nil || !*ds.Healthy || !ds.Timestamp.Equal(ts) || ds.Canary != tc.wantCanary || ds.ModifyIndex != tc.index {
			t.Fatalf("index %d: deployment status %+v", tc.index, ds)
		}
	}
	// Promoted by the servers: a stale report saying canary is ignored.
	got, _ := s.AllocByID(nil, a.ID)
	p := *got
	p.DeploymentStatus = &structs.AllocDeploymentStatus{Healthy: &healthy, Timestamp: ts}
	must(t, s.UpsertAllocs(5, []*structs.Allocation{&p}))
	u := &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning,
		DeploymentStatus: &structs.AllocDeploymentStatus{Healthy: &healthy, Timestamp: ts, Canary: true}}
	must(t, s.UpdateAllocsFromClient(6, []*structs.Allocation{u}))
	if got, _ := s.AllocByID(nil, a.ID); got.DeploymentStatus.Canary {
		t.Fatal("a client report made a promoted allocation a canary again")
	}
}

// The drainer decides a drain is complete from a state it read earlier: a
// completion that lands after the operator canceled the drain leaves the
// node as the operator left it (eligible), not ineligible.
func TestStaleDrainCompletionKeepsCanceledNodeEligible(t *testing.T) {
	s := newStore(t)
	n := &structs.Node{ID: structs.GenerateUUID(), Status: structs.NodeStatusReady, SchedulingEligibility: structs.NodeSchedulingEligible}
	must(t, s.UpsertNode(1, n))
	must(t, s.UpdateNodeDrain(2, n.ID, &structs.DrainStrategy{}, false, time.Now().UnixNano(), nil))
	must(t, s.UpdateNodeDrain(3, n.ID, nil, true, time.Now().UnixNano(), nil))
	must(t, s.CompleteNodeDrain(4, n.ID, time.Now().UnixNano(), &structs.NodeEvent{Message: "Node drain complete"}))
	got, _ := s.NodeByID(nil, n.ID)
	if got.SchedulingEligibility != structs.NodeSchedulingEligible || got.LastDrain.Status != DrainStatusCanceled {
		t.Fatalf("after a stale completion: eligibility %s, last drain %s; want eligible and canceled", got.SchedulingEligibility, got.LastDrain.Status)
	}
	// A drain still in progress completes as before.
	must(t, s.UpdateNodeDrain(5, n.ID, &structs.DrainStrategy{}, false, time.Now().UnixNano(), nil))
	must(t, s.CompleteNodeDrain(6, n.ID, time.Now().UnixNano(), nil))
	got, _ = s.NodeByID(nil, n.ID)
	if got.SchedulingEligibility != structs.NodeSchedulingIneligible || got.LastDrain.Status != DrainStatusComplete || got.DrainStrategy != nil {
		t.Fatalf("completed drain: eligibility %s, last drain %s", got.SchedulingEligibility, got.LastDrain.Status)
	}
}
