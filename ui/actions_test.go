package ui_test

import (
	"fmt"
	"testing"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// TestActionsUpdateLive: Stop and Start on a job's page, Restart and Stop
// on an allocation's and Make ineligible on a client's act through the API, and
// each page shows the outcome by itself (its blocking query), without a
// reload.
func TestActionsUpdateLive(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	alloc := la.RunJob(t, webJob, structs.TaskStateRunning)
	c := la.Client(t)
	b := newBrowser(t, la.URL, 1280, 900)
	// The actions ask first; the test answers yes.
	confirmYes := func() {
		if _, err := eval[bool](b, `(window.confirm = () => true, true)`); err != nil {
			t.Fatal(err)
		}
	}

	b.open("/ui/allocations/" + alloc.ID)
	b.waitText("main", "Restarts\n0")
	confirmYes()
	b.click("main .toolbar button") // Restart
	b.waitText("main", "Restart Signaled", "Restarts\n1")
	confirmYes()
	b.click("main .toolbar button.danger") // Stop
	b.waitText("h1 + dl", "stop", "Next allocation")
	a, _, err := c.Allocations().Info(alloc.ID, nil)
	if err != nil || a.DesiredStatus != "stop" {
		t.Fatalf("allocation after Stop: desired %q (%v)", a.DesiredStatus, err)
	}
	la.WaitAlloc(t, "web", func(a *api.Allocation) error {
		if a.ID == alloc.ID || a.ClientStatus != "running" {
			return fmt.Errorf("no replacement running yet")
		}
		return nil
	})

	b.open("/ui/jobs/web")
	b.waitText("h1", "running")
	confirmYes()
	b.click("main .toolbar button.danger") // Stop
	b.waitText("h1", "stopped")
	testutil.WaitFor(t, apitest.Wait, func() error {
		j, _, err := c.Jobs().Info("web", nil)
		if err != nil || !j.Stop {
			return fmt.Errorf("job not stopped (%v)", err)
		}
		return nil
	})
	b.click("main .toolbar button.primary") // Start
	b.waitText("h1", "running")

	b.open("/ui/clients/" + alloc.NodeID)
	b.waitText("main", "eligible")
	b.click("main .toolbar button") // Make ineligible
	b.waitText("h1 + dl", "ineligible")
	n, _, err := c.Nodes().Info(alloc.NodeID, nil)
	if err != nil || n.SchedulingEligibility != "ineligible" {
		t.Errorf("node eligibility %q (%v), want ineligible", n.SchedulingEligibility, err)
	}
	b.check()
}

// TestEditJob: "Edit and plan a change" on a job's page loads the job into
// the editor; a changed count plans as one placement and runs as the job's
// next version.
func TestEditJob(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	la.RunJob(t, webJob, structs.TaskStateRunning)
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/jobs/web")
	b.click(`a[href^="/ui/run?job=web"]`)
	b.waitText("main", "Edit job web")
	testutil.WaitFor(t, browserWait, func() error {
		ok, err := eval[bool](b, `(() => { const a = document.querySelector("#job-source"); if (!a || !a.value.startsWith("{")) return false;
		  const j = JSON.parse(a.value); j.TaskGroups[0].Count = 2; a.value = JSON.stringify(j, null, 2);
		  a.dispatchEvent(new Event("input", {bubbles: true})); return true })()`)
		if err != nil || !ok {
			return fmt.Errorf("editor not loaded with the job (%v)", err)
		}
		return nil
	})
	b.click("#plan")
	b.waitText("#run-result", "Plan for job web", "1 place", `Count: "1" => "2"`)
	b.click("#run")
	b.waitText("main", "Version 1", `Count: "1" => "2"`)
	la.WaitAlloc(t, "web", func(a *api.Allocation) error {
		if a.JobVersion != 1 || a.ClientStatus != "running" {
			return fmt.Errorf("no running allocation of version 1 yet")
		}
		return nil
	})
	b.check()
}
