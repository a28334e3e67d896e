package cli_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/testutil"
)

// waitDeployment waits for the job's latest deployment to be of version v
// with n allocations placed.
func waitDeployment(t *testing.T, cl *api.Client, job string, v uint64, n int) *api.Deployment {
	t.Helper()
	var d *api.Deployment
	testutil.WaitFor(t, apitest.Wait, func() error {
		var err error
		d, _, err = cl.Jobs().LatestDeployment(job, nil)
		if err != nil {
			return err
		}
		if d == nil || d.JobVersion != v {
			return fmt.Errorf("no deployment of version %d yet", v)
		}
		if placed := d.TaskGroups["web"].PlacedAllocs; placed != n {
			return fmt.Errorf("deployment placed %d allocations, want %d", placed, n)
		}
		return nil
	})
	return d
}

// The simulated nodes report deployment allocations healthy (apitest);
// health_check = "manual" leaves health to the API, which is how these
// tests make deployments wait or fail.

func updateBlock(body string) string { return "update {\n" + body + "\n}" }

func TestJobRunFollowsDeploymentUntilSuccessful(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	path := writeJob(t, "web.nomad", jobHCL("web", 2, updateBlock(`min_healthy_time = "0s"`)))
	r := mustRoam(t, c, 0, "job", "run", path)
	assertContains(t, r, `: Monitoring deployment "`, `successful`, "Deployed", "Task Group", "Healthy")
	if !regexp.MustCompile(`Deployment "[0-9a-f]{8}" successful`).MatchString(r.stdout) {
		t.Errorf("no successful line:\n%s", r)
	}
	// -detach returns at once.
	r = mustRoam(t, c, 0, "job", "run", "-detach", path)
	assertContains(t, r, "Evaluation ID: ")
	if strings.Contains(r.stdout, "Monitoring deployment") {
		t.Errorf("-detach followed the deployment:\n%s", r)
	}
	list := mustRoam(t, c, 0, "deployment", "list")
	assertContains(t, list, "Job ID", "web", "successful", "Deployment completed successfully")
	history := mustRoam(t, c, 0, "job", "history", "web")
	assertContains(t, history, "Stable")
	status := mustRoam(t, c, 0, "job", "status", "web")
	assertContains(t, status, "Latest Deployment", "Deployment completed successfully", "Healthy")
}

func TestJobRunExitsNonZeroWhenDeploymentFailsAndReverts(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	good := writeJob(t, "web.nomad", jobHCL("web", 2, updateBlock(`min_healthy_time = "0s"
    auto_revert = true`)))
	mustRoam(t, c, 0, "job", "run", good)
	// Version 1 never turns healthy (manual health) and misses its deadline.
	bad := writeJob(t, "web.nomad", strings.Replace(jobHCL("web", 2, updateBlock(`health_check = "manual"
    min_healthy_time = "0s"
    healthy_deadline = "1s"
    progress_deadline = "2s"
    auto_revert = true`)), `"600"`, `"601"`, 1))
	// max_parallel 1: one of the two is replaced at a time.
	assertContains(t, roam(t, c, "job", "plan", bad), `Task Group: "web" (1 create/destroy update, 1 ignore)`)
	r := roam(t, c, "job", "run", bad)
	if r.code == 0 {
		t.Fatalf("job run of a failing deployment exited 0:\n%s", r)
	}
	assertContains(t, r, "failed: Failed due to progress deadline - rolling back to job version 0")
	// It follows the roll-back's deployment to its end, as Nomad's does,
	// and still exits non-zero.
	if n := strings.Count(r.stdout, "Monitoring deployment"); n != 2 || !regexp.MustCompile(`Deployment "[0-9a-f]{8}" successful`).MatchString(r.stdout) {
		t.Errorf("job run followed %d deployments, want the failed one and the roll-back's, successful:\n%s", n, r)
	}
	st := mustRoam(t, c, 0, "job", "status", "web")
	assertContains(t, st, "web")
	inspect := mustRoam(t, c, 0, "job", "inspect", "-json", "web")
	if !strings.Contains(inspect.stdout, `"600"`) || !strings.Contains(inspect.stdout, `"Version": 2`) {
		t.Errorf("the job was not reverted to version 0's spec as version 2:\n%s", inspect.stdout)
	}
}

func TestDeploymentCommandsPromotePauseFail(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	v0 := jobHCL("web", 2, updateBlock(`health_check = "manual"
    min_healthy_time = "0s"
    canary = 1`))
	path := writeJob(t, "web.nomad", v0)
	mustRoam(t, c, 0, "job", "run", "-detach", path)
	cl := c.Client(t)
	d := waitDeployment(t, cl, "web", 0, 2)
	allocs, _, _ := cl.Deployments().Allocations(d.ID, nil)
	var ids []string
	for _, a := range allocs {
		ids = append(ids, a.ID)
	}
	if _, _, err := cl.Deployments().SetAllocHealth(d.ID, ids, nil, nil); err != nil {
		t.Fatal(err)
	}
	mustRoam(t, c, 0, "deployment", "status", "-monitor", d.ID[:8])

	// Version 1: a canary beside the two old allocations.
	path = writeJob(t, "web.nomad", strings.Replace(v0, `"600"`, `"601"`, 1))
	plan := roam(t, c, "job", "plan", path)
	assertContains(t, plan, `Task Group: "web" (1 canary, 2 ignore)`, "forces create/destroy update")
	mustRoam(t, c, 0, "job", "run", "-detach", path)
	d2 := waitDeployment(t, cl, "web", 1, 1)
	st := mustRoam(t, c, 0, "deployment", "status", d2.ID[:8])
	assertContains(t, st, "requires manual promotion", "Promoted", "Canaries")
	r := roam(t, c, "job", "promote", "-detach", "web")
	if r.code == 0 || !strings.Contains(r.stderr, "0/1 healthy canaries") {
		t.Fatalf("promotion of an unhealthy canary:\n%s", r)
	}
	mustRoam(t, c, 0, "deployment", "pause", d2.ID[:8])
	assertContains(t, mustRoam(t, c, 0, "deployment", "status", d2.ID[:8]), "paused")
	mustRoam(t, c, 0, "deployment", "resume", "-detach", d2.ID[:8])
	canaries, _, _ := cl.Deployments().Allocations(d2.ID, nil)
	if len(canaries) != 1 {
		t.Fatalf("%d canaries", len(canaries))
	}
	if _, _, err := cl.Deployments().SetAllocHealth(d2.ID, []string{canaries[0].ID}, nil, nil); err != nil {
		t.Fatal(err)
	}
	r = mustRoam(t, c, 0, "job", "promote", "-detach", "web")
	assertContains(t, r, "promoted")
	r = mustRoam(t, c, 0, "deployment", "fail", "-detach", d2.ID[:8])
	assertContains(t, r, "failed")
	assertContains(t, mustRoam(t, c, 0, "deployment", "status", "-json", d2.ID[:8]), `"Status": "failed"`)
}

func TestJobRunOfBatchJobHasNoDeployment(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	src := strings.Replace(jobHCL("b", 1, ""), `datacenters = ["dc1"]`, `datacenters = ["dc1"]
  type = "batch"`, 1)
	r := mustRoam(t, c, 0, "job", "run", writeJob(t, "b.nomad", src))
	assertContains(t, r, `finished with status "complete"`)
	if strings.Contains(r.stdout, "deployment") {
		t.Errorf("batch job run mentions a deployment:\n%s", r)
	}
}
