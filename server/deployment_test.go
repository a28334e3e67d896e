package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// deployJob is testJob with a group update block.
func deployJob(id string, count int, mod func(*structs.UpdateStrategy)) *structs.Job {
	job := testJob(id, count)
	u := structs.DefaultUpdateStrategy()
	u.MinHealthyTime, u.HealthyDeadline, u.ProgressDeadline = 0, time.Minute, 2*time.Minute
	if mod != nil {
		mod(&u)
	}
	job.TaskGroups[0].Update = &u
	return job
}

// withEnv is the job changed so that its allocations must be replaced.
func withEnv(job *structs.Job, v string) *structs.Job {
	c := job.Copy()
	c.TaskGroups[0].Tasks[0].Env = map[string]string{"V": v}
	return c
}

// reportHealth sends the allocations' health the way a client does: on the
// client's allocation update RPC.
func reportHealth(t *testing.T, s *Server, allocs []*structs.Allocation, healthy bool) {
	t.Helper()
	// One node per test: its secret authenticates the report.
	req := structs.AllocUpdateRequest{WriteRequest: structs.WriteRequest{AuthToken: nodeSecret(t, s, allocs[0].NodeID)}}
	for _, a := range allocs {
		h := healthy
		req.Alloc = append(req.Alloc, &structs.Allocation{ID: a.ID, NodeID: a.NodeID, ClientStatus: structs.AllocClientStatusRunning,
			DeploymentStatus: &structs.AllocDeploymentStatus{Healthy: &h, Timestamp: time.Now()}})
	}
	var reply structs.GenericResponse
	must(t, s.RPC(structs.MethodNodeUpdateAlloc, &req, &reply))
}

// waitDeployment waits until the job's latest deployment of version v has status.
func waitDeployment(t *testing.T, s *Server, jobID string, v uint64, status structs.DeploymentStatus) *structs.Deployment {
	t.Helper()
	var d *structs.Deployment
	testutil.WaitFor(t, waitLong, func() error {
		d, _ = s.State().LatestDeploymentByJobID(nil, "default", jobID)
		if d == nil || d.JobVersion != v || d.Status != status {
			return fmt.Errorf("latest deployment %s", deploymentString(d))
		}
		return nil
	})
	return d
}

func deploymentString(d *structs.Deployment) string {
	if d == nil {
		return "none"
	}
	return fmt.Sprintf("of version %d %s (%s)", d.JobVersion, d.Status, d.StatusDescription)
}

// liveOfVersion waits until the job has n live allocations of version v and
// total live ones.
func liveOfVersion(t *testing.T, s *Server, jobID string, v uint64, n, total int) []*structs.Allocation {
	t.Helper()
	var out []*structs.Allocation
	testutil.WaitFor(t, waitLong, func() error {
		live := liveAllocs(s, jobID)
		out = out[:0]
		for _, a := range live {
			if a.JobVersion == v {
				out = append(out, a)
			}
		}
		if len(out) != n || len(live) != total {
			return fmt.Errorf("%d live allocations of version %d among %d, want %d among %d", len(out), v, len(live), n, total)
		}
		return nil
	})
	return out
}

func TestDeploymentRollsOutAsClientsReportHealth(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	job := deployJob("web", 3, nil)
	registerJob(t, s, job)
	first := liveOfVersion(t, s, "web", 0, 3, 3)
	waitDeployment(t, s, "web", 0, structs.DeploymentStatusRunning)
	reportHealth(t, s, first, true)
	waitDeployment(t, s, "web", 0, structs.DeploymentStatusSuccessful)
	if v, _ := s.State().JobByIDAndVersion(nil, "default", "web", 0); !v.Stable {
		t.Fatal("version 0 not stable after its deployment succeeded")
	}

	registerJob(t, s, withEnv(job, "2"))
	// max_parallel = 1: one at a time, each once the previous is healthy.
	for n := 1; n <= 3; n++ {
		fresh := liveOfVersion(t, s, "web", 1, n, 3)
		waitDeployment(t, s, "web", 1, structs.DeploymentStatusRunning)
		reportHealth(t, s, fresh, true)
	}
	d := waitDeployment(t, s, "web", 1, structs.DeploymentStatusSuccessful)
	if g := d.TaskGroups["web"]; g.HealthyAllocs != 3 || g.PlacedAllocs != 3 {
		t.Fatalf("group %+v", g)
	}
	if j, _ := s.State().JobByID(nil, "default", "web"); !j.Stable || j.Version != 1 {
		t.Fatalf("job version %d stable %v", j.Version, j.Stable)
	}
}

func TestUnhealthyDeploymentFailsAndRevertsToStableVersion(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	job := deployJob("web", 2, func(u *structs.UpdateStrategy) { u.AutoRevert = true })
	registerJob(t, s, job)
	reportHealth(t, s, liveOfVersion(t, s, "web", 0, 2, 2), true)
	waitDeployment(t, s, "web", 0, structs.DeploymentStatusSuccessful)

	registerJob(t, s, withEnv(job, "broken"))
	bad := liveOfVersion(t, s, "web", 1, 1, 2)
	reportHealth(t, s, bad, false)
	// The failed deployment says where it went; version 2 is version 0 again.
	var failed *structs.Deployment
	testutil.WaitFor(t, waitLong, func() error {
		ds, _ := s.State().DeploymentsByJobID(nil, "default", "web", false)
		for _, d := range ds {
			if d.JobVersion == 1 && d.Status == structs.DeploymentStatusFailed {
				failed = d
				return nil
			}
		}
		return fmt.Errorf("no failed deployment of version 1")
	})
	if want := "Failed due to unhealthy allocations - rolling back to job version 0"; failed.StatusDescription != want {
		t.Fatalf("description %q, want %q", failed.StatusDescription, want)
	}
	j, _ := s.State().JobByID(nil, "default", "web")
	if j.Version != 2 || !jobSpecEqual(j, mustVersion(t, s, "web", 0)) {
		t.Fatalf("after revert the job is version %d", j.Version)
	}
	// The reverted version rolls out by its own deployment.
	reverted := liveOfVersion(t, s, "web", 2, 2, 2)
	reportHealth(t, s, reverted, true)
	waitDeployment(t, s, "web", 2, structs.DeploymentStatusSuccessful)
}

func mustVersion(t *testing.T, s *Server, id string, v uint64) *structs.Job {
	t.Helper()
	j, err := s.State().JobByIDAndVersion(nil, "default", id, v)
	if err != nil || j == nil {
		t.Fatalf("job %s version %d: %v", id, v, err)
	}
	return j
}

func TestDeploymentFailsAtProgressDeadline(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	job := deployJob("web", 1, func(u *structs.UpdateStrategy) {
		u.HealthyDeadline, u.ProgressDeadline = 100*time.Millisecond, 300*time.Millisecond
	})
	registerJob(t, s, job)
	// Nobody reports health: the deadline passes.
	d := waitDeployment(t, s, "web", 0, structs.DeploymentStatusFailed)
	if d.StatusDescription != structs.DeploymentDescProgressDeadline {
		t.Fatalf("description %q", d.StatusDescription)
	}
}

func TestCanaryPromotionByEndpointAndAutoPromote(t *testing.T) {
	for _, auto := range []bool{false, true} {
		t.Run(fmt.Sprintf("auto_promote=%v", auto), func(t *testing.T) {
			s := testServer(t)
			registerNode(t, s)
			job := deployJob("web", 2, func(u *structs.UpdateStrategy) { u.Canary, u.AutoPromote = 1, auto })
			registerJob(t, s, job)
			reportHealth(t, s, liveOfVersion(t, s, "web", 0, 2, 2), true)
			waitDeployment(t, s, "web", 0, structs.DeploymentStatusSuccessful)

			registerJob(t, s, withEnv(job, "2"))
			canary := liveOfVersion(t, s, "web", 1, 1, 3)
			d := waitDeployment(t, s, "web", 1, structs.DeploymentStatusRunning)
			var reply structs.DeploymentUpdateResponse
			promote := &structs.DeploymentPromoteRequest{DeploymentID: d.ID, All: true}
			if !auto {
				if err := s.RPC(structs.MethodDeploymentPromote, promote, &reply); ErrorCode(err) != 400 || !strings.Contains(err.Error(), "0/1 healthy canaries") {
					t.Fatalf("promotion of an unhealthy canary: %v", err)
				}
			}
			reportHealth(t, s, canary, true)
			if !auto {
				// Healthy but not promoted: it waits, the old version runs.
				must(t, s.RPC(structs.MethodDeploymentPromote, promote, &reply))
				if reply.EvalID == "" {
					t.Fatal("promotion created no evaluation")
				}
			}
			fresh := liveOfVersion(t, s, "web", 1, 2, 2)
			reportHealth(t, s, fresh, true)
			d = waitDeployment(t, s, "web", 1, structs.DeploymentStatusSuccessful)
			if !d.TaskGroups["web"].Promoted {
				t.Fatal("group not promoted")
			}
		})
	}
}

func TestDeploymentEndpointsPauseFailAndManualHealth(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	job := deployJob("web", 2, func(u *structs.UpdateStrategy) { u.HealthCheck = "manual" })
	registerJob(t, s, job)
	allocs := liveOfVersion(t, s, "web", 0, 2, 2)
	d := waitDeployment(t, s, "web", 0, structs.DeploymentStatusRunning)

	var reply structs.DeploymentUpdateResponse
	must(t, s.RPC(structs.MethodDeploymentPause, &structs.DeploymentPauseRequest{DeploymentID: d.ID, Pause: true}, &reply))
	waitDeployment(t, s, "web", 0, structs.DeploymentStatusPaused)
	must(t, s.RPC(structs.MethodDeploymentPause, &structs.DeploymentPauseRequest{DeploymentID: d.ID}, &reply))
	waitDeployment(t, s, "web", 0, structs.DeploymentStatusRunning)

	health := &structs.DeploymentAllocHealthRequest{DeploymentID: d.ID, HealthyAllocationIDs: []string{allocs[0].ID, allocs[1].ID}}
	must(t, s.RPC(structs.MethodDeploymentSetAllocHealth, health, &reply))
	waitDeployment(t, s, "web", 0, structs.DeploymentStatusSuccessful)

	var list structs.DeploymentListResponse
	must(t, s.RPC(structs.MethodDeploymentList, &structs.DeploymentListRequest{}, &list))
	if len(list.Deployments) != 1 || list.Deployments[0].ID != d.ID {
		t.Fatalf("list %+v", list.Deployments)
	}
	var da structs.AllocListResponse
	must(t, s.RPC(structs.MethodDeploymentAllocations, &structs.DeploymentSpecificRequest{DeploymentID: d.ID}, &da))
	if len(da.Allocations) != 2 || da.Allocations[0].DeploymentStatus == nil {
		t.Fatalf("deployment allocations %+v", da.Allocations)
	}
	// A finished deployment cannot be failed or paused.
	if err := s.RPC(structs.MethodDeploymentFail, &structs.DeploymentFailRequest{DeploymentID: d.ID}, &reply); ErrorCode(err) != 400 {
		t.Fatalf("fail of a successful deployment: %v", err)
	}
	if err := s.RPC(structs.MethodDeploymentFail, &structs.DeploymentFailRequest{DeploymentID: structs.GenerateUUID()}, &reply); ErrorCode(err) != 404 {
		t.Fatalf("fail of a missing deployment: %v", err)
	}

	registerJob(t, s, withEnv(job, "2"))
	d2 := waitDeployment(t, s, "web", 1, structs.DeploymentStatusRunning)
	must(t, s.RPC(structs.MethodDeploymentFail, &structs.DeploymentFailRequest{DeploymentID: d2.ID}, &reply))
	d2 = waitDeployment(t, s, "web", 1, structs.DeploymentStatusFailed)
	if d2.StatusDescription != structs.DeploymentDescFailedByUser {
		t.Fatalf("description %q", d2.StatusDescription)
	}
}
