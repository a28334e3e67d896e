package server

import (
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

// deploymentIDs lists the deployments Deployment.List (GET /v1/deployments)
// answers with.
func deploymentIDs(t *testing.T, s *Server) map[string]bool {
	t.Helper()
	var reply structs.DeploymentListResponse
	req := &structs.DeploymentListRequest{QueryOptions: structs.QueryOptions{Namespace: "*"}}
	must(t, s.RPC(structs.MethodDeploymentList, req, &reply))
	out := map[string]bool{}
	for _, d := range reply.Deployments {
		out[d.ID] = true
	}
	return out
}

// rolledOutTwice runs a one-allocation job through two successful
// deployments and returns them: the first's allocation is replaced, the
// second's runs.
func rolledOutTwice(t *testing.T, s *Server) (first, second *structs.Deployment) {
	t.Helper()
	job := deployJob("web", 1, nil)
	registerJob(t, s, job)
	reportHealth(t, s, liveOfVersion(t, s, "web", 0, 1, 1), true)
	first = waitDeployment(t, s, "web", 0, structs.DeploymentStatusSuccessful)
	registerJob(t, s, withEnv(job, "2"))
	reportHealth(t, s, liveOfVersion(t, s, "web", 1, 1, 1), true)
	second = waitDeployment(t, s, "web", 1, structs.DeploymentStatusSuccessful)
	return first, second
}

func TestDeploymentTimes(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	before := time.Now()
	first, second := rolledOutTwice(t, s)
	for _, d := range []*structs.Deployment{first, second} {
		created, modified := time.Unix(0, d.CreateTime), time.Unix(0, d.ModifyTime)
		if created.Before(before) || modified.Before(created) || modified.After(time.Now()) {
			t.Fatalf("deployment %s created %v modified %v (test began %v)", d.ID, created, modified, before)
		}
	}
}

// The collector removes a terminal deployment once it is older than
// deployment_gc_threshold and none of its allocations runs; the job's
// latest deployment, whose allocation runs, stays.
func TestDeploymentGarbageCollection(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	first, second := rolledOutTwice(t, s)

	must(t, s.collectGarbage(time.Now()))
	if ids := deploymentIDs(t, s); !ids[first.ID] || !ids[second.ID] {
		t.Fatalf("collected before deployment_gc_threshold (1h): %v", ids)
	}
	must(t, s.collectGarbage(time.Now().Add(2*time.Hour)))
	ids := deploymentIDs(t, s)
	if ids[first.ID] {
		t.Fatal("the replaced version's deployment is still listed after deployment_gc_threshold")
	}
	if !ids[second.ID] {
		t.Fatal("the job's latest deployment, whose allocation runs, was collected")
	}
	if d, _ := s.State().LatestDeploymentByJobID(nil, "default", "web"); d == nil || d.ID != second.ID {
		t.Fatalf("latest deployment %+v", d)
	}
}

func TestDeploymentGCThresholdIsConfigurable(t *testing.T) {
	s := testServer(t, func(c *Config) { c.DeploymentGCThreshold = 5 * time.Hour })
	registerNode(t, s)
	first, _ := rolledOutTwice(t, s)
	must(t, s.collectGarbage(time.Now().Add(2*time.Hour)))
	if !deploymentIDs(t, s)[first.ID] {
		t.Fatal("collected after 2h with deployment_gc_threshold = 5h")
	}
	must(t, s.collectGarbage(time.Now().Add(6*time.Hour)))
	if deploymentIDs(t, s)[first.ID] {
		t.Fatal("kept after 6h with deployment_gc_threshold = 5h")
	}
}

// `system gc` collects terminal deployments at once, whatever their age.
func TestSystemGCCollectsDeployments(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	first, second := rolledOutTwice(t, s)
	must(t, s.RPC(structs.MethodSystemGarbageCollect, &structs.SystemRequest{}, &structs.GenericResponse{}))
	ids := deploymentIDs(t, s)
	if ids[first.ID] || !ids[second.ID] {
		t.Fatalf("after system gc: %v (first %s collected, second %s kept)", ids, first.ID, second.ID)
	}
}

// Purging a job deletes its deployments.
func TestJobPurgeDeletesDeployments(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	first, second := rolledOutTwice(t, s)
	must(t, s.RPC(structs.MethodJobDeregister, &structs.JobDeregisterRequest{JobID: "web", Purge: true}, &structs.JobDeregisterResponse{}))
	if ids := deploymentIDs(t, s); ids[first.ID] || ids[second.ID] {
		t.Fatalf("a purged job's deployments are still listed: %v", ids)
	}
	if d, _ := s.State().DeploymentByID(nil, second.ID); d != nil {
		t.Fatalf("purged job's deployment still stored: %+v", d)
	}
}
