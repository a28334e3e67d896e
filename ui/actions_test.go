package ui_test

import (
	"fmt"
	"testing"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// TestActionsUpdateLive: Stop and Start on a job's page, Restart on an
// allocation's and Make ineligible on a client's act through the API, and
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
