package ui_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/jobspec"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// rolloutJob rolls out through deployments with one canary. Health is
// manual: the test decides when an allocation is healthy, so what the page
// shows at each step does not race the client's verdict.
const rolloutJob = `
job "rollout" {
  datacenters = ["dc1"]
  update {
    max_parallel = 1
    canary       = 1
    health_check = "manual"
    auto_revert  = false
  }
  group "app" {
    task "server" {
      driver = "raw_exec"
      env {
        RELEASE = "%d"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "while :; do sleep 1; done"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// register submits src as it is (HCL) through the API.
func register(t *testing.T, c *api.Client, src string) {
	t.Helper()
	job, err := jobspec.Parse("job.hcl", []byte(src), jobspec.ParseOptions{})
	if err != nil {
		t.Fatalf("parse job: %v", err)
	}
	if _, _, err := c.Jobs().Register(job, nil, nil); err != nil {
		t.Fatalf("register job: %v", err)
	}
}

// latestDeployment waits for the job's deployment of version, with every
// allocation it wants placed (canaries included).
func latestDeployment(t *testing.T, c *api.Client, job string, version uint64) *api.Deployment {
	t.Helper()
	var d *api.Deployment
	testutil.WaitFor(t, apitest.Wait, func() error {
		got, _, err := c.Jobs().LatestDeployment(job, nil)
		if err != nil || got == nil || got.JobVersion != version {
			return fmt.Errorf("no deployment of version %d yet (%v)", version, err)
		}
		allocs, _, err := c.Deployments().Allocations(got.ID, nil)
		if err != nil || len(allocs) == 0 {
			return fmt.Errorf("deployment %s has no allocations yet (%v)", got.ID, err)
		}
		d = got
		return nil
	})
	return d
}

// setHealthy marks every allocation of the deployment healthy, as an
// operator does with health_check = "manual".
func setHealthy(t *testing.T, c *api.Client, d *api.Deployment) {
	t.Helper()
	allocs, _, err := c.Deployments().Allocations(d.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range allocs {
		ids = append(ids, a.ID)
	}
	if _, _, err := c.Deployments().SetAllocHealth(d.ID, ids, nil, nil); err != nil {
		t.Fatalf("set health: %v", err)
	}
}

// waitGroupRow waits until the latest deployment's row for the task group
// shows want, column by column (Group, Desired, Placed, Healthy, Unhealthy,
// Canaries, Promoted).
func (b *browser) waitGroupRow(want ...string) {
	b.t.Helper()
	testutil.WaitFor(b.t, browserWait, func() error {
		cells, err := eval[[]string](b, `[...document.querySelectorAll("#deployment tbody tr:first-child > *")].map((c) => c.innerText)`)
		if err != nil || len(cells) < len(want) || !slices.Equal(cells[:len(want)], want) {
			return fmt.Errorf("deployment row shows %q, want %q (%v)", cells, want, err)
		}
		return nil
	})
}

// TestDeploymentOnJobPage: a job's page follows its deployments as they
// roll out, without a reload: the latest one's status and per-group
// progress, canaries waiting for promotion, Promote refused with the
// agent's reason while a canary is not healthy, then Promote and Fail
// acting on the servers; the list shows every deployment, newest first.
func TestDeploymentOnJobPage(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	c := la.Client(t)
	la.RunJob(t, fmt.Sprintf(rolloutJob, 0), structs.TaskStateRunning)
	b := newBrowser(t, la.URL, 1280, 900)

	// Version 0 is placed, and healthy only once the operator says so.
	d0 := latestDeployment(t, c, "rollout", 0)
	b.open("/ui/jobs/rollout")
	// Fail asks first; the test answers yes.
	if _, err := eval[bool](b, `(window.confirm = () => true, true)`); err != nil {
		t.Fatal(err)
	}
	b.waitText("#deployment", "running", "Job version\n0")
	b.waitGroupRow("app", "1", "1", "0", "0", "none", "—")
	setHealthy(t, c, d0)
	b.waitGroupRow("app", "1", "1", "1", "0", "none", "—")
	b.waitText("#deployment", "successful", "Deployment completed successfully")

	// Version 1 starts with a canary beside version 0.
	register(t, c, fmt.Sprintf(rolloutJob, 1))
	d1 := latestDeployment(t, c, "rollout", 1)
	b.waitText("#deployment", shortID(d1.ID), "running", "waiting for promotion: app")
	b.waitGroupRow("app", "1", "1", "0", "0", "1/1", "no")
	b.click("#deployment-promote")
	b.waitText("#sec-latest-deployment + div .error", "Promote (HTTP 400)", `task group "app" has 0/1 healthy canaries`)
	b.checkAxe()

	setHealthy(t, c, d1)
	b.waitGroupRow("app", "1", "1", "1", "0", "1/1", "no")
	b.click("#deployment-promote")
	testutil.WaitFor(t, apitest.Wait, func() error {
		d, _, err := c.Deployments().Info(d1.ID, nil)
		if err != nil || !d.TaskGroups["app"].Promoted {
			return fmt.Errorf("deployment %s not promoted on the servers (%v)", d1.ID, err)
		}
		return nil
	})
	b.waitGroupRow("app", "1", "1", "1", "0", "1/1", "yes")
	b.waitText("#deployment", "successful")
	if got := b.text("#sec-latest-deployment + div"); strings.Contains(got, "HTTP 400") {
		t.Errorf("the refusal is still shown after a promotion that worked: %q", got)
	}

	// Version 2's deployment is failed from the page.
	register(t, c, fmt.Sprintf(rolloutJob, 2))
	d2 := latestDeployment(t, c, "rollout", 2)
	b.waitText("#deployment", shortID(d2.ID), "running")
	b.click("#deployment-fail")
	testutil.WaitFor(t, apitest.Wait, func() error {
		d, _, err := c.Deployments().Info(d2.ID, nil)
		if err != nil || d.Status != "failed" {
			return fmt.Errorf("deployment %s not failed on the servers (%v)", d2.ID, err)
		}
		return nil
	})
	b.waitText("#deployment", "failed", "Deployment marked as failed")
	if n := b.attr("#deployments table", "data-rows"); n != "3" {
		t.Errorf("deployments list has %s rows, want 3", n)
	}
	rows, err := eval[[]string](b, `[...document.querySelectorAll("#deployments tbody tr")].map((r) => r.innerText)`)
	if err != nil || len(rows) != 3 || !strings.HasPrefix(rows[0], shortID(d2.ID)) || !strings.HasPrefix(rows[2], shortID(d0.ID)) {
		t.Errorf("deployments list %q (%v), want version 2's first and version 0's last", rows, err)
	}
	b.check()
}

func shortID(id string) string { return id[:8] }

// periodicJob launches at 03:00 UTC: children in the test come from Force
// launch.
const periodicJob = `
job "nightly" {
  datacenters = ["dc1"]
  type        = "batch"
  periodic {
    crons     = ["0 3 * * *"]
    time_zone = "UTC"
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo launched"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// convertJob is a parameterized job: a payload and an "input" meta key
// are required.
const convertJob = `
job "convert" {
  datacenters = ["dc1"]
  type        = "batch"
  parameterized {
    payload       = "required"
    meta_required = ["input"]
    meta_optional = ["mode"]
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      dispatch_payload {
        file = "in.txt"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "cat local/in.txt"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// TestChildJobs: a periodic job's page shows its schedule and next launch;
// Force launch creates a child, listed under the parent with its status as
// it runs, and its page links back. A parameterized job's page shows what a
// dispatch needs, and its form dispatches a child with the payload and meta
// typed in.
func TestChildJobs(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	c := la.Client(t)
	register(t, c, periodicJob)
	register(t, c, convertJob)
	b := newBrowser(t, la.URL, 1280, 900)

	t.Run("periodic", func(t *testing.T) {
		b.t = t
		b.open("/ui/jobs/nightly")
		b.waitText("#template", "0 3 * * *", "UTC")
		testutil.WaitFor(t, browserWait, func() error {
			at, err := time.Parse(time.RFC3339, b.attr("#next-launch time", "datetime"))
			now := time.Now().UTC()
			want := time.Date(now.Year(), now.Month(), now.Day(), 3, 0, 0, 0, time.UTC)
			if !want.After(now) {
				want = want.AddDate(0, 0, 1)
			}
			if err != nil || !at.Equal(want) {
				return fmt.Errorf("next launch %v (%v), want %v", at, err, want)
			}
			return nil
		})
		b.waitText("#children", "No launches yet.")
		b.click("#periodic-force")
		var child string
		testutil.WaitFor(t, apitest.Wait, func() error {
			kids, _, err := c.Jobs().List(&api.QueryOptions{Prefix: "nightly/periodic-"})
			if err != nil || len(kids) != 1 {
				return fmt.Errorf("%d children on the servers (%v), want 1", len(kids), err)
			}
			child = kids[0].ID
			return nil
		})
		b.waitText("#children", child, "dead", "1 complete", "0 pending, 0 running, 1 dead")
		b.checkAxe()
		b.click(`#children a[href="/ui/jobs/` + strings.ReplaceAll(child, "/", "%2F") + `"]`)
		b.waitText("main h1", child)
		b.waitText("main", "Parent\nnightly")
		b.check()
	})

	t.Run("parameterized", func(t *testing.T) {
		b.t = t
		b.open("/ui/jobs/convert")
		b.waitText("#template", "Payload\nrequired", "Required meta\ninput", "Optional meta\nmode")
		b.waitText("#children", "Not dispatched yet.")
		b.setValue("#dispatch-payload", "hello from the page")
		b.setValue("#meta-input", "a.csv")
		b.click("#dispatch")
		b.waitText("#template", "Dispatched convert/dispatch-")
		var child string
		testutil.WaitFor(t, apitest.Wait, func() error {
			kids, _, err := c.Jobs().List(&api.QueryOptions{Prefix: "convert/dispatch-"})
			if err != nil || len(kids) != 1 {
				return fmt.Errorf("%d children on the servers (%v), want 1", len(kids), err)
			}
			child = kids[0].ID
			return nil
		})
		j, _, err := c.Jobs().Info(child, nil)
		if err != nil || string(j.Payload) != "hello from the page" || j.Meta["input"] != "a.csv" {
			t.Fatalf("dispatched child: payload %q, meta %v (%v)", j.Payload, j.Meta, err)
		}
		b.waitText("#children", child)
		b.checkAxe()
		b.check()
	})
}

// checkAxe fails the test on what axe-core finds on the page as it is
// (TestAccessibility covers the pages of a job without deployments or
// children in both themes).
func (b *browser) checkAxe() {
	b.t.Helper()
	for _, v := range b.axe() {
		b.t.Errorf("accessibility: %s", v)
	}
}
