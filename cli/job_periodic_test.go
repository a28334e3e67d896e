package cli_test

import (
	"strings"
	"testing"

	"github.com/roam-sh/roam/internal/apitest"
)

// templateHCL is a batch job with a periodic or parameterized block.
func templateHCL(id, block string) string {
	return `job "` + id + `" {
  datacenters = ["dc1"]
  type        = "batch"
  ` + block + `
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
`
}

// `job periodic force` launches a child now and follows its evaluation;
// `job status` of the parent shows its next launch, its children's summary
// and the children.
func TestJobPeriodicForceAndStatus(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	// January 1st only: nothing launches during the test but what it forces.
	mustRoam(t, c, 0, "job", "run", writeJob(t, "tick.nomad", templateHCL("tick", `periodic {
    crons            = ["0 0 1 1 *"]
    prohibit_overlap = true
  }`)))
	r := mustRoam(t, c, 0, "job", "periodic", "force", "-detach", "tick")
	assertContains(t, r, "Force periodic successful", "Evaluation ID: ")
	r = mustRoam(t, c, 0, "job", "periodic", "force", "tick")
	assertContains(t, r, `finished with status "complete"`)

	r = mustRoam(t, c, 0, "job", "status", "tick")
	assertContains(t, r, "Periodic             = true", "Next Periodic Launch = ", "Children Job Summary",
		"Pending  Running  Dead", "Previously Launched Jobs", "tick/periodic-")
	if strings.Contains(r.stdout, "Allocations") {
		t.Errorf("a periodic template's status lists allocations:\n%s", r)
	}
	assertContains(t, mustRoam(t, c, 0, "job", "status", "-t", "{{len .Children}}", "tick"), "1")

	mustRoam(t, c, 0, "job", "run", writeJob(t, "web.nomad", jobHCL("web", 1, "")))
	assertContains(t, mustRoam(t, c, 1, "job", "periodic", "force", "web"), `job "web" is not periodic`)
}

// `job dispatch` sends meta and a payload file and prints the child's ID;
// what the parameterized block refuses is an error that says why.
func TestJobDispatch(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	mustRoam(t, c, 0, "job", "run", writeJob(t, "convert.nomad", templateHCL("convert", `parameterized {
    payload       = "required"
    meta_required = ["input"]
  }`)))
	payload := writeJob(t, "input.txt", "some input\n")
	r := mustRoam(t, c, 0, "job", "dispatch", "-meta", "input=a.csv", "-id-prefix-template", "manual", "convert", payload)
	assertContains(t, r, "Dispatched Job ID = convert/dispatch-manual-", "Evaluation ID     = ", `finished with status "complete"`)

	r = mustRoam(t, c, 0, "job", "status", "convert")
	assertContains(t, r, "Parameterized = true", "Parameterized Job", "Payload           = required",
		"Required Metadata = input", "Parameterized Job Summary", "Dispatched Jobs", "convert/dispatch-manual-")

	assertContains(t, mustRoam(t, c, 1, "job", "dispatch", "-meta", "input=a", "convert"), "payload is required")
	assertContains(t, mustRoam(t, c, 1, "job", "dispatch", "-meta", "colour=red", "convert", payload),
		`meta keys "colour" are not permitted`, `required meta keys "input" are missing`)
	assertContains(t, mustRoam(t, c, 1, "job", "dispatch", "-meta", "novalue", "convert", payload), `invalid -meta "novalue"`)
}

// `job dispatch -idempotency-token` run twice dispatches once: the second
// run prints the first child's ID and has no evaluation to follow.
func TestJobDispatchIdempotencyToken(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	mustRoam(t, c, 0, "job", "run", writeJob(t, "once.nomad", templateHCL("once", `parameterized {}`)))
	first := mustRoam(t, c, 0, "job", "dispatch", "-detach", "-idempotency-token", "t1", "once")
	id := dispatchedID(t, first.stdout)
	second := mustRoam(t, c, 0, "job", "dispatch", "-idempotency-token", "t1", "once")
	if got := dispatchedID(t, second.stdout); got != id || strings.Contains(second.stdout, "Evaluation ID") {
		t.Fatalf("second dispatch:\n%s\nwant child %s and no evaluation", second, id)
	}
	assertContains(t, mustRoam(t, c, 0, "job", "status", "-t", "{{len .Children}}", "once"), "1")
}

// dispatchedID is the child ID `job dispatch` printed.
func dispatchedID(t *testing.T, out string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "Dispatched Job ID" {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no Dispatched Job ID in:\n%s", out)
	return ""
}
