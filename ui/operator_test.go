package ui_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/roam-sh/roam/agent"
	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// nowhereJob can be placed on no node: it asks for an operating system no
// client has.
const nowhereJob = `
job "nowhere" {
  datacenters = ["dc1"]
  constraint {
    attribute = "${attr.kernel.name}"
    value     = "plan9"
  }
  group "cache" {
    task "redis" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["600"]
      }
    }
  }
}
`

// TestJobsFilter: the jobs list narrows to what is searched for, by type
// and by status, and the filter is kept in the address.
func TestJobsFilter(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	la.RunJob(t, webJob, structs.TaskStateRunning)
	la.RunJob(t, brokenJob, structs.TaskStateDead)
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/jobs")
	b.waitText("#jobs-out", "web", "broken")

	b.setValue("#job-search", "bro")
	b.waitText("#jobs-overview", "(1 shown)")
	if got := b.text("#jobs-out"); !strings.Contains(got, "broken") || strings.Contains(got, "web") {
		t.Errorf("searching for bro shows %q, want broken alone", got)
	}
	if loc, _ := eval[string](b, "location.search"); loc != "?q=bro" {
		t.Errorf("the address keeps %q, want ?q=bro", loc)
	}

	b.setValue("#job-search", "")
	selectValue(b, "#job-status", "running")
	b.waitText("#jobs-overview", "(1 shown)")
	if got := b.text("#jobs-out"); !strings.Contains(got, "web") || strings.Contains(got, "broken") {
		t.Errorf("status running shows %q, want web alone", got)
	}
	selectValue(b, "#job-status", "")
	selectValue(b, "#job-type", "batch")
	b.waitText("#jobs-out", "No job matches the filter.")

	// A shared link opens the list filtered.
	b.open("/ui/jobs?status=dead")
	b.waitText("#jobs-out", "broken")
	if got := b.text("#jobs-out"); strings.Contains(got, "web") {
		t.Errorf("/ui/jobs?status=dead shows %q", got)
	}
	b.check()
}

// selectValue picks an option of the select sel, as a user would (a change
// event follows).
func selectValue(b *browser, sel, value string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %s; e.dispatchEvent(new Event("change", {bubbles: true})); return true })()`, sel, jsString(value))
	if _, err := eval[bool](b, js); err != nil {
		b.t.Fatalf("select %s: %v", sel, err)
	}
}

// TestFailedAllocationOnJobPage: a job's page says in the failed
// allocation's row why it failed, with the task's stderr one click away;
// running allocations have no such column.
func TestFailedAllocationOnJobPage(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	alloc := la.RunJob(t, brokenJob, structs.TaskStateDead)
	la.RunJob(t, webJob, structs.TaskStateRunning)
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/jobs/broken")
	b.waitText("#sec-allocations + div", "Why it failed", "migrate: Terminated (Exit Code: 3)")
	b.click(`#sec-allocations + div a[href*="type=stderr"]`)
	b.waitText("#log-output", "database url missing")
	if loc, _ := eval[string](b, "location.pathname"); loc != "/ui/allocations/"+alloc.ID+"/logs" {
		t.Errorf("the stderr link led to %s", loc)
	}
	b.open("/ui/jobs/web")
	b.waitText("#sec-allocations + div", "running")
	if got := b.text("#sec-allocations + div"); strings.Contains(got, "Why it failed") {
		t.Errorf("a job without failed allocations shows a failure column: %q", got)
	}
	b.check()
}

// TestPlacementFailures: a job no node can take shows, on its page and on
// its evaluation's, which task group failed to place and why.
func TestPlacementFailures(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	c := la.Client(t)
	register(t, c, nowhereJob)
	var evalID string
	testutil.WaitFor(t, apitest.Wait, func() error {
		evals, _, err := c.Jobs().Evaluations("nowhere", nil)
		for _, e := range evals {
			if len(e.FailedTGAllocs) > 0 {
				evalID = e.ID
				return nil
			}
		}
		return fmt.Errorf("no evaluation with placement failures yet (%v)", err)
	})
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/jobs/nowhere")
	want := []string{`Task group "cache" failed to place`, "1 filtered", "Constraint ${attr.kernel.name} = plan9: 1 node"}
	b.waitText("#sec-evaluations + div", want...)
	b.click(`a[href="/ui/evaluations/` + evalID + `"]`)
	b.waitText("main", append(want, "Evaluation "+evalID[:8])...)
	// Its breadcrumb leads back to the job.
	b.click(`nav.crumbs a[href="/ui/jobs/nowhere"]`)
	b.waitText("h1", "nowhere")
	b.check()
}

// TestAllocationUsage: a running allocation's page shows its tasks' live
// CPU and memory use, read again while the page stays open.
func TestAllocationUsage(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	alloc := la.RunJob(t, webJob, structs.TaskStateRunning)
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/allocations/" + alloc.ID)
	b.waitText("#sec-resources + div", "% ·", "MHz", "iB")
	testutil.WaitFor(t, browserWait, func() error {
		n, err := eval[int](b, `performance.getEntriesByType("resource").filter((e) => e.name.includes("/stats")).length`)
		if err != nil || n < 2 {
			return fmt.Errorf("live usage read %d times (%v), want it read again", n, err)
		}
		return nil
	})
	b.check()
}

// TestDrainAndHostNetworks: a client's page lists its host networks, and
// Drain drains the node, the page showing it without a reload.
func TestDrainAndHostNetworks(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, func(c *agent.Config) {
		c.Client.HostNetworks["loopback-net"] = agent.HostNetwork{CIDR: "127.0.0.0/8", ReservedPorts: "22"}
	})
	c := la.Client(t)
	var nodeID string
	testutil.WaitFor(t, apitest.Wait, func() error {
		nodes, _, err := c.Nodes().List(nil)
		if err != nil || len(nodes) != 1 {
			return fmt.Errorf("%d nodes (%v)", len(nodes), err)
		}
		nodeID = nodes[0].ID
		return nil
	})
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/clients/" + nodeID)
	b.waitText("#sec-host-networks + div", "loopback-net", "127.0.0.0/8", "22")
	b.waitText("h1 + dl", "Drain\nno")
	if _, err := eval[bool](b, `(window.confirm = () => true, true)`); err != nil {
		t.Fatal(err)
	}
	b.click("main .toolbar button.danger") // Drain
	// With nothing to move the drain may end at once: the page shows it
	// was set (the node's event) and the node left ineligible.
	b.waitText("#sec-events + div", "Node drain strategy set")
	b.waitText("h1 + dl", "ineligible")
	n, _, err := c.Nodes().Info(nodeID, nil)
	if err != nil || n.LastDrain == nil || n.SchedulingEligibility != "ineligible" {
		t.Errorf("node after Drain: last drain %+v, eligibility %q (%v), want a drain and ineligible", n.LastDrain, n.SchedulingEligibility, err)
	}
	b.open("/ui/clients")
	b.waitText("main", "ineligible")
	b.check()
}

// TestLiveWithoutPolling: a job's page shows a change made elsewhere
// without a reload, and gets it from blocking queries: while idle the page
// waits on one request, and a change costs one round of reads.
func TestLiveWithoutPolling(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	la.RunJob(t, webJob, structs.TaskStateRunning)
	c := la.Client(t)
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/jobs/web")
	b.waitText("#sec-allocations + div", "running")
	// A mark on the document: a reload would lose it.
	if _, err := eval[bool](b, `(window.roamTestMark = 1, true)`); err != nil {
		t.Fatal(err)
	}
	requests := func() []string {
		t.Helper()
		list, err := eval[[]string](b, `performance.getEntriesByType("resource").map((e) => e.name).filter((n) => n.includes("/v1/"))`)
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	b.waitText("#deployment", "successful")
	// Idle (the roll-out over): the page holds one blocking query and
	// makes no other read; at most one round when its wait elapses.
	idle, err := eval[int](b, `new Promise((resolve) => {
	  const start = performance.getEntriesByType("resource").length;
	  setTimeout(() => resolve(performance.getEntriesByType("resource").length - start), 3000) })`)
	if err != nil {
		t.Fatal(err)
	}
	if idle > 6 {
		t.Errorf("%d requests in 3 s of an idle page, want at most one round", idle)
	}
	before := len(requests())

	job, _, err := c.Jobs().Info("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	job.TaskGroups[0].Count = 2
	if _, _, err := c.Jobs().Register(job, nil, nil); err != nil {
		t.Fatal(err)
	}
	la.WaitAlloc(t, "web", func(a *api.Allocation) error {
		if a.JobVersion != 1 {
			return fmt.Errorf("no allocation of version 1 yet")
		}
		return nil
	})
	b.waitText("main", "Version 1", `Count: "1" => "2"`)
	testutil.WaitFor(t, browserWait, func() error {
		if n, _ := eval[int](b, `document.querySelector("#sec-allocations + div table").dataset.rows|0`); n != 2 {
			return fmt.Errorf("%d allocations shown, want 2", n)
		}
		return nil
	})
	if mark, _ := eval[int](b, `window.roamTestMark || 0`); mark != 1 {
		t.Fatal("the page was reloaded")
	}
	after := requests()
	// Every answer of the blocking query costs one read of each other
	// source (the job, evaluations, summary, deployments) and the versions
	// when the job changed: a few rounds for a register, an evaluation and
	// two allocations' updates. A poller would have made hundreds.
	if n := len(after) - before; n > 60 {
		t.Errorf("%d requests for one change, want a few rounds of reads:\n%s", n, strings.Join(after[before:], "\n"))
	}
	blocking := 0
	for _, u := range after {
		if strings.Contains(u, "/allocations?") && strings.Contains(u, "index=") && strings.Contains(u, "wait=") {
			blocking++
		}
	}
	if blocking == 0 {
		t.Errorf("no blocking query (index=, wait=) among the page's reads:\n%s", strings.Join(after, "\n"))
	}
	b.check()
}

// rotatingJob prints 2.6 MB of numbered lines into a log whose files
// rotate at 1 MB, then a last line, and waits.
const rotatingJob = `
job "chatty" {
  datacenters = ["dc1"]
  group "g" {
    task "printer" {
      driver = "raw_exec"
      logs {
        max_files     = 3
        max_file_size = 1
      }
      config {
        command = "/bin/sh"
        args = ["-c", <<EOS
sleep 2
i=0
while [ $i -lt 25000 ]; do i=$((i+1)); printf 'line %06d %090d\n' $i 0; done
echo LAST-LINE
exec sleep 600
EOS
        ]
      }
    }
  }
}
`

// TestLogsRotation: opened from the start, the logs page follows the task
// across the rotations of its log file to the last line, keeping at most
// 2 MB of text; opened from the end, it shows the last lines and not the
// first.
func TestLogsRotation(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	alloc := la.RunJob(t, rotatingJob, structs.TaskStateRunning)
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/allocations/" + alloc.ID + "/logs?task=printer&origin=start")
	b.waitText("#log-output", "LAST-LINE")
	got := b.text("#log-output")
	// The page keeps at most 2 MB of text, dropping the oldest; what it
	// kept is every line once and in order up to the last, across the
	// files the log rotated through.
	if len(got) > 2_000_000 || strings.Contains(got, "line 000001 ") {
		t.Errorf("the page holds %d characters from %q on, want at most 2,000,000 and the first lines dropped", len(got), clip(got[:80]))
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if lines[len(lines)-1] != "LAST-LINE" || !strings.HasPrefix(lines[len(lines)-2], "line 025000 ") {
		t.Errorf("the log ends with %q", lines[max(0, len(lines)-2):])
	}
	prev := 0
	for _, l := range lines[1 : len(lines)-1] { // the first may be cut
		var n int
		if _, err := fmt.Sscanf(l, "line %d", &n); err != nil || (prev != 0 && n != prev+1) {
			t.Fatalf("after line %d comes %q: a rotation lost or repeated lines", prev, clip(l))
		}
		prev = n
	}
	waitFile(t, la, alloc.ID, "alloc/logs/printer.stdout.1")

	b.open("/ui/allocations/" + alloc.ID + "/logs?task=printer&origin=end")
	b.waitText("#log-output", "line 025000 ", "LAST-LINE")
	if got := b.text("#log-output"); strings.Contains(got, "line 000001 ") {
		t.Error("from the end, the log shows its first line")
	}
	b.check()
}

// TestExecRefused: exec into a task that is not running is refused by the
// agent, and the page shows the agent's reason.
func TestExecRefused(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	alloc := la.RunJob(t, brokenJob, structs.TaskStateDead)
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/allocations/" + alloc.ID + "/exec")
	b.waitText("main", "No task of this allocation is running")
	b.click("#exec-connect")
	b.waitText("main", "task is not running")
	b.waitText("#exec-status", "Disconnected")
	b.check()
}
