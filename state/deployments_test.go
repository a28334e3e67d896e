package state

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

// deployedJob stores a job and a deployment of it planned with one canary
// and one rolling allocation, as the scheduler's plan would commit them.
func deployedJob(t *testing.T, s *StateStore) (*structs.Job, *structs.Deployment, *structs.Allocation, *structs.Allocation) {
	t.Helper()
	must(t, s.UpsertJob(1, nil, testJob("api")))
	job, _ := s.JobByID(nil, "default", "api")
	d := structs.NewDeployment(job, time.Unix(100, 0))
	d.TaskGroups["web"] = &structs.DeploymentState{DesiredTotal: 2, DesiredCanaries: 1, ProgressDeadline: time.Minute,
		RequireProgressBy: time.Unix(160, 0)}
	canary, plain := testAlloc(job, "n1"), testAlloc(job, "n1")
	canary.DeploymentID, plain.DeploymentID = d.ID, d.ID
	canary.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	must(t, s.UpsertPlanResults(2, &structs.ApplyPlanResultsRequest{Job: job, Deployment: d,
		AllocsUpdated: []*structs.Allocation{canary.CopySkipJob(), plain.CopySkipJob()}}))
	return job, d, canary, plain
}

func clientHealth(id string, healthy bool, at time.Time) *structs.Allocation {
	return &structs.Allocation{ID: id, ClientStatus: structs.AllocClientStatusRunning,
		DeploymentStatus: &structs.AllocDeploymentStatus{Healthy: &healthy, Timestamp: at}}
}

func TestDeploymentCountsPlacedAndHealthyAllocs(t *testing.T) {
	s := newStore(t)
	_, d, canary, plain := deployedJob(t, s)
	got, _ := s.DeploymentByID(nil, d.ID)
	g := got.TaskGroups["web"]
	if g.PlacedAllocs != 2 || len(g.PlacedCanaries) != 1 || g.PlacedCanaries[0] != canary.ID {
		t.Fatalf("after the plan: placed %d, canaries %v", g.PlacedAllocs, g.PlacedCanaries)
	}
	// The client reports health: one healthy (at 200s), one unhealthy.
	must(t, s.UpdateAllocsFromClient(3, []*structs.Allocation{clientHealth(canary.ID, true, time.Unix(200, 0)), clientHealth(plain.ID, false, time.Unix(201, 0))}))
	// A repeated report counts once.
	must(t, s.UpdateAllocsFromClient(4, []*structs.Allocation{clientHealth(canary.ID, true, time.Unix(200, 0))}))
	got, _ = s.DeploymentByID(nil, d.ID)
	g = got.TaskGroups["web"]
	if g.HealthyAllocs != 1 || g.UnhealthyAllocs != 1 {
		t.Fatalf("healthy %d unhealthy %d, want 1 and 1", g.HealthyAllocs, g.UnhealthyAllocs)
	}
	if want := time.Unix(260, 0); !g.RequireProgressBy.Equal(want) {
		t.Fatalf("progress deadline %v, want the healthy allocation's time plus progress_deadline %v", g.RequireProgressBy, want)
	}
	if got.ModifyIndex != 4 && got.ModifyIndex != 3 {
		t.Fatalf("modify index %d", got.ModifyIndex)
	}
}

func TestDeploymentPromotionNeedsHealthyCanariesAndClearsCanaryFlag(t *testing.T) {
	s := newStore(t)
	_, d, canary, _ := deployedJob(t, s)
	err := s.UpdateDeploymentPromotion(3, &structs.DeploymentPromoteRequest{DeploymentID: d.ID, All: true})
	if !errors.Is(err, structs.ErrBadRequest) {
		t.Fatalf("promotion before the canary is healthy: %v, want a bad request", err)
	}
	must(t, s.UpdateAllocsFromClient(4, []*structs.Allocation{clientHealth(canary.ID, true, time.Unix(200, 0))}))
	must(t, s.UpdateDeploymentPromotion(5, &structs.DeploymentPromoteRequest{DeploymentID: d.ID, All: true}))
	got, _ := s.DeploymentByID(nil, d.ID)
	if !got.TaskGroups["web"].Promoted || got.RequiresPromotion() {
		t.Fatal("group not promoted")
	}
	a, _ := s.AllocByID(nil, canary.ID)
	if a.DeploymentStatus.Canary || a.AllocModifyIndex != 5 {
		t.Fatalf("promoted canary: canary=%v alloc modify index %d (its client must see the change)", a.DeploymentStatus.Canary, a.AllocModifyIndex)
	}
	if h := a.DeploymentStatus.Healthy; h == nil || !*h {
		t.Fatal("promotion lost the canary's health")
	}
}

func TestSuccessfulDeploymentMarksJobVersionStable(t *testing.T) {
	s := newStore(t)
	job, d, _, _ := deployedJob(t, s)
	must(t, s.UpdateDeploymentStatus(3, &structs.DeploymentStatusUpdateRequest{DeploymentUpdate: &structs.DeploymentStatusUpdate{
		DeploymentID: d.ID, Status: structs.DeploymentStatusSuccessful, StatusDescription: structs.DeploymentDescSuccessful}}))
	j, _ := s.JobByID(nil, "default", "api")
	v, _ := s.JobByIDAndVersion(nil, "default", "api", job.Version)
	if !j.Stable || !v.Stable {
		t.Fatalf("job stable %v, version stable %v", j.Stable, v.Stable)
	}
	// A finished deployment stays as it finished.
	must(t, s.UpdateDeploymentStatus(4, &structs.DeploymentStatusUpdateRequest{DeploymentUpdate: &structs.DeploymentStatusUpdate{
		DeploymentID: d.ID, Status: structs.DeploymentStatusFailed}}))
	got, _ := s.DeploymentByID(nil, d.ID)
	if got.Status != structs.DeploymentStatusSuccessful {
		t.Fatalf("status %s after a late fail", got.Status)
	}
}

func TestDeploymentsListedNewestFirstAndSurviveSnapshot(t *testing.T) {
	s := newStore(t)
	job, d1, _, _ := deployedJob(t, s)
	d2 := structs.NewDeployment(job, time.Unix(300, 0))
	d2.TaskGroups["web"] = &structs.DeploymentState{DesiredTotal: 2}
	must(t, s.UpsertPlanResults(5, &structs.ApplyPlanResultsRequest{Job: job, Deployment: d2,
		DeploymentUpdates: []*structs.DeploymentStatusUpdate{{DeploymentID: d1.ID, Status: structs.DeploymentStatusCancelled, StatusDescription: structs.DeploymentDescNewerJob,
			UpdatedAt: time.Unix(300, 0).UnixNano()}}}))
	latest, _ := s.LatestDeploymentByJobID(nil, "default", "api")
	if latest == nil || latest.ID != d2.ID {
		t.Fatalf("latest deployment %v, want %s", latest, d2.ID)
	}
	var buf bytes.Buffer
	must(t, s.Snapshot().Persist(&buf))
	r := newStore(t)
	must(t, r.Restore(&buf))
	ds, _ := r.DeploymentsByJobID(nil, "default", "api", false)
	if len(ds) != 2 || ds[0].ID != d2.ID || ds[1].Status != structs.DeploymentStatusCancelled {
		t.Fatalf("restored deployments: %+v", ds)
	}
	if ds[1].TaskGroups["web"].PlacedAllocs != 2 {
		t.Fatalf("restored counters: %+v", ds[1].TaskGroups["web"])
	}
	// The times the garbage collector goes by survive too: created at
	// 100s, cancelled (last changed) at 300s.
	if c, m := ds[1].CreateTime, ds[1].ModifyTime; c != time.Unix(100, 0).UnixNano() || m != time.Unix(300, 0).UnixNano() {
		t.Fatalf("restored times: created %v modified %v", time.Unix(0, c), time.Unix(0, m))
	}
}

// A deployment's ModifyTime is when it last changed status; the
// scheduler's later copy of a running deployment does not move its
// creation, and a deployment that ended keeps the time it ended at.
func TestDeploymentModifyTimeFollowsStatus(t *testing.T) {
	s := newStore(t)
	job, d, _, _ := deployedJob(t, s)
	again := d.Copy()
	again.CreateTime, again.ModifyTime = time.Unix(150, 0).UnixNano(), time.Unix(150, 0).UnixNano()
	must(t, s.UpsertPlanResults(3, &structs.ApplyPlanResultsRequest{Job: job, Deployment: again}))
	got, _ := s.DeploymentByID(nil, d.ID)
	if got.CreateTime != time.Unix(100, 0).UnixNano() || got.ModifyTime != time.Unix(150, 0).UnixNano() {
		t.Fatalf("after a plan: created %v modified %v", time.Unix(0, got.CreateTime), time.Unix(0, got.ModifyTime))
	}
	must(t, s.UpdateDeploymentStatus(4, &structs.DeploymentStatusUpdateRequest{DeploymentUpdate: &structs.DeploymentStatusUpdate{
		DeploymentID: d.ID, Status: structs.DeploymentStatusFailed, UpdatedAt: time.Unix(200, 0).UnixNano()}}))
	late := d.Copy()
	late.ModifyTime = time.Unix(400, 0).UnixNano()
	must(t, s.UpsertPlanResults(5, &structs.ApplyPlanResultsRequest{Job: job, Deployment: late}))
	got, _ = s.DeploymentByID(nil, d.ID)
	if got.Status != structs.DeploymentStatusFailed || got.ModifyTime != time.Unix(200, 0).UnixNano() {
		t.Fatalf("ended deployment: %s modified %v, want failed at 200s", got.Status, time.Unix(0, got.ModifyTime))
	}
}

// Deployment changes reach the event stream on the Deployment topic, typed
// by the entry that made them.
func TestDeploymentEvents(t *testing.T) {
	s := newStore(t)
	_, d, canary, _ := deployedJob(t, s)
	evs := eventsOf(t, s, 3, structs.DeploymentStatusUpdateRequestType, func() error {
		return s.UpdateDeploymentStatus(3, &structs.DeploymentStatusUpdateRequest{DeploymentUpdate: &structs.DeploymentStatusUpdate{
			DeploymentID: d.ID, Status: structs.DeploymentStatusPaused, StatusDescription: structs.DeploymentDescPaused}})
	})
	if len(evs) != 1 || evs[0].Topic != structs.TopicDeployment || evs[0].Type != structs.EventDeploymentStatusUpdate ||
		evs[0].Key != d.ID || evs[0].Payload.Deployment == nil || evs[0].Payload.Deployment.Status != structs.DeploymentStatusPaused {
		t.Fatalf("status update events %+v", evs)
	}
	evs = eventsOf(t, s, 4, structs.DeploymentAllocHealthRequestType, func() error {
		return s.UpdateDeploymentAllocHealth(4, &structs.ApplyDeploymentAllocHealthRequest{
			DeploymentAllocHealthRequest: structs.DeploymentAllocHealthRequest{DeploymentID: d.ID, HealthyAllocationIDs: []string{canary.ID}},
			Timestamp:                    time.Unix(300, 0)})
	})
	var sawDeployment bool
	for _, ev := range evs {
		if ev.Topic == structs.TopicDeployment {
			sawDeployment = ev.Type == structs.EventDeploymentAllocHealth && ev.Payload.Deployment.TaskGroups["web"].HealthyAllocs == 1
		}
	}
	if !sawDeployment {
		t.Fatalf("allocation health events %+v", evs)
	}
}
