package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/testutil"
)

// The deployment endpoints through Nomad's Go client: what `nomad
// deployment status|promote|fail|pause|resume` and `job run`'s monitor
// call, decoded into Nomad's own types. Health is set by hand
// (allocation-health), as with health_check = "manual".
func TestNomadDeploymentEndpoints(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	nc := nomadClient(t, c)
	job := nomadJob("dep", 2)
	job.TaskGroups[0].Update = &nomadapi.UpdateStrategy{MaxParallel: ptr(1), HealthCheck: ptr("manual"), Canary: ptr(1),
		MinHealthyTime: ptr(time.Duration(0)), HealthyDeadline: ptr(time.Minute), ProgressDeadline: ptr(2 * time.Minute)}
	resp, _, err := nc.Jobs().Register(job, nil)
	if err != nil {
		t.Fatal(err)
	}
	eval := waitNomadEval(t, nc, resp.EvalID)
	d, _, err := nc.Deployments().Info(eval.DeploymentID, nil)
	if err != nil || d.JobID != "dep" || d.Status != "running" || d.TaskGroups["web"].DesiredTotal != 2 {
		t.Fatalf("Deployments().Info(%q) = %+v, %v", eval.DeploymentID, d, err)
	}
	allocs, _, err := nc.Deployments().Allocations(d.ID, nil)
	if err != nil || len(allocs) != 2 {
		t.Fatalf("Deployments().Allocations = %v, %v", allocs, err)
	}
	healthy := func(dep string, ids ...string) {
		t.Helper()
		if _, _, err := nc.Deployments().SetAllocHealth(dep, ids, nil, nil); err != nil {
			t.Fatalf("SetAllocHealth: %v", err)
		}
	}
	healthy(d.ID, allocs[0].ID, allocs[1].ID)
	waitNomadDeployment(t, nc, d.ID, "successful")

	// A new version: one canary, then promotion.
	job.TaskGroups[0].Tasks[0].Env["GREETING"] = "bonjour"
	resp, _, err = nc.Jobs().Register(job, nil)
	if err != nil {
		t.Fatal(err)
	}
	eval = waitNomadEval(t, nc, resp.EvalID)
	d2, _, err := nc.Deployments().Info(eval.DeploymentID, nil)
	if err != nil || d2.ID == d.ID || d2.TaskGroups["web"].DesiredCanaries != 1 || !strings.Contains(d2.StatusDescription, "promotion") {
		t.Fatalf("second deployment %+v, %v", d2, err)
	}
	if _, _, err := nc.Deployments().PromoteAll(d2.ID, nil); err == nil || !strings.Contains(err.Error(), "0/1 healthy canaries") {
		t.Fatalf("promotion of an unhealthy canary: %v", err)
	}
	if _, _, err := nc.Deployments().Pause(d2.ID, true, nil); err != nil {
		t.Fatal(err)
	}
	waitNomadDeployment(t, nc, d2.ID, "paused")
	if _, _, err := nc.Deployments().Pause(d2.ID, false, nil); err != nil {
		t.Fatal(err)
	}
	canaries := waitNomadDeploymentAllocs(t, nc, d2.ID, 1)
	healthy(d2.ID, canaries[0].ID)
	if _, _, err := nc.Deployments().PromoteAll(d2.ID, nil); err != nil {
		t.Fatalf("PromoteAll: %v", err)
	}
	got, _, _ := nc.Deployments().Info(d2.ID, nil)
	if !got.TaskGroups["web"].Promoted {
		t.Fatalf("after promotion %+v", got.TaskGroups["web"])
	}
	if _, _, err := nc.Deployments().Fail(d2.ID, nil); err != nil {
		t.Fatalf("Fail: %v", err)
	}
	waitNomadDeployment(t, nc, d2.ID, "failed")
	latest, _, err := nc.Jobs().LatestDeployment("dep", nil)
	if err != nil || latest == nil || latest.ID != d2.ID {
		t.Fatalf("LatestDeployment = %+v, %v", latest, err)
	}
	if ds, _, err := nc.Jobs().Deployments("dep", false, nil); err != nil || len(ds) != 2 || ds[0].ID != d2.ID {
		t.Fatalf("Jobs().Deployments = %v, %v", ds, err)
	}
	if _, _, err := nc.Deployments().Info("00000000-0000-0000-0000-000000000000", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("a missing deployment: %v", err)
	}
}

func waitNomadDeployment(t *testing.T, nc *nomadapi.Client, id, status string) {
	t.Helper()
	testutil.WaitFor(t, apitest.Wait, func() error {
		d, _, err := nc.Deployments().Info(id, nil)
		if err != nil {
			return err
		}
		if d.Status != status {
			return fmt.Errorf("deployment %s is %q (%s), want %q", id, d.Status, d.StatusDescription, status)
		}
		return nil
	})
}

func waitNomadDeploymentAllocs(t *testing.T, nc *nomadapi.Client, id string, n int) []*nomadapi.AllocationListStub {
	t.Helper()
	var out []*nomadapi.AllocationListStub
	testutil.WaitFor(t, apitest.Wait, func() error {
		var err error
		out, _, err = nc.Deployments().Allocations(id, nil)
		if err != nil {
			return err
		}
		if len(out) != n {
			return fmt.Errorf("deployment %s has %d allocations, want %d", id, len(out), n)
		}
		return nil
	})
	return out
}
