package httpapi_test

import (
	"testing"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/internal/apitest"
)

// A system job's roll-out through Nomad's Go client: registering and then
// changing it each create a deployment, which the evaluation names and
// the job's latest deployment is (what `job status` and `job run` show);
// its group expects one allocation per node.
func TestNomadSystemJobDeployment(t *testing.T) {
	c := apitest.Start(t)
	for range 3 {
		c.RegisterNode(t)
	}
	nc := nomadClient(t, c)
	job := nomadJob("sys", 1)
	job.Type = ptr("system")
	job.TaskGroups[0].Count = nil
	job.TaskGroups[0].Networks, job.TaskGroups[0].Services = nil, nil
	job.Update = &nomadapi.UpdateStrategy{MaxParallel: ptr(1)}

	for version, greeting := range []string{"hello", "bonjour"} {
		job.TaskGroups[0].Tasks[0].Env["GREETING"] = greeting
		resp, _, err := nc.Jobs().Register(job, nil)
		if err != nil {
			t.Fatal(err)
		}
		eval := waitNomadEval(t, nc, resp.EvalID)
		if eval.DeploymentID == "" {
			t.Fatalf("version %d: the evaluation names no deployment", version)
		}
		waitNomadDeployment(t, nc, eval.DeploymentID, "successful")
		d, _, err := nc.Jobs().LatestDeployment("sys", nil)
		if err != nil || d == nil || d.ID != eval.DeploymentID || d.JobVersion != uint64(version) {
			t.Fatalf("version %d: latest deployment %+v, %v, want %s", version, d, err, eval.DeploymentID)
		}
		if g := d.TaskGroups["web"]; g == nil || g.DesiredTotal != 3 || g.HealthyAllocs != 3 {
			t.Fatalf("version %d: group %+v, want 3 of 3 nodes healthy", version, g)
		}
	}
	ds, _, err := nc.Jobs().Deployments("sys", false, nil)
	if err != nil || len(ds) != 2 {
		t.Fatalf("job deployments %d, %v; want 2", len(ds), err)
	}
}
