package cli_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/roam-sh/roam/internal/apitest"
)

func TestJobRunMonitors(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	c.RegisterNode(t)
	path := writeJob(t, "web.nomad", jobHCL("web", 2, ""))
	r := mustRoam(t, c, 0, "job", "run", path)
	assertContains(t, r,
		`: Monitoring evaluation "`,
		`Evaluation triggered by job "web"`,
		`Evaluation status changed: "pending" -> "complete"`,
		`finished with status "complete"`,
	)
	if !regexp.MustCompile(`(?m)^==> \S+: Monitoring evaluation "[0-9a-f]{8}"$`).MatchString(r.stdout) {
		t.Errorf("no monitor headline with a short ID:\n%s", r)
	}
	created := regexp.MustCompile(`Allocation "[0-9a-f]{8}" created: node "[0-9a-f]{8}", group "web"`).FindAllString(r.stdout, -1)
	if len(created) != 2 {
		t.Errorf("%d allocation-created lines, want 2:\n%s", len(created), r)
	}
}

func TestJobRunUnplaceable(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	c.RegisterNode(t)
	path := writeJob(t, "win.nomad", jobHCL("win", 1, `constraint {
      attribute = "${attr.kernel.name}"
      value     = "windows"
    }`))
	r := roam(t, c, "job", "run", path)
	if r.code == 0 {
		t.Fatalf("unplaceable job exited 0:\n%s", r)
	}
	assertContains(t, r,
		"but failed to place all allocations:",
		`Task Group "web" (failed to place 1 allocation):`,
		`* Constraint "${attr.kernel.name} = windows": 2 nodes excluded by filter`,
		"waiting for additional capacity to place remainder",
	)
	st := mustRoam(t, c, 0, "job", "status", "win")
	assertContains(t, st, "Placement Failure", `Constraint "${attr.kernel.name} = windows"`)
}

func TestJobRunDetachAndCheckIndex(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	path := writeJob(t, "web.nomad", jobHCL("web", 1, ""))
	r := mustRoam(t, c, 0, "job", "run", "-detach", "-check-index", "0", path)
	assertContains(t, r, "Job registration successful", "Evaluation ID: ")
	if strings.Contains(r.stdout, "Monitoring") {
		t.Errorf("-detach monitored:\n%s", r)
	}
	r = mustRoam(t, c, 1, "job", "run", "-check-index", "0", path)
	assertContains(t, r, "already exists")
}

func TestJobPlanExitCodes(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	path := writeJob(t, "web.nomad", jobHCL("web", 1, ""))
	r := mustRoam(t, c, 1, "job", "plan", path)
	assertContains(t, r, `+ Job: "web"`, `Task Group: "web"`, "Scheduler dry-run:", "- All tasks successfully allocated.",
		"Job Modify Index: 0", "roam job run -check-index 0 "+path)

	mustRoam(t, c, 0, "job", "run", path)
	r = mustRoam(t, c, 0, "job", "plan", path)
	idx := regexp.MustCompile(`Job Modify Index: (\d+)`).FindStringSubmatch(r.stdout)
	if idx == nil || idx[1] == "0" {
		t.Errorf("plan of a registered job shows no modify index:\n%s", r)
	} else {
		mustRoam(t, c, 0, "job", "run", "-detach", "-check-index", idx[1], path)
	}

	bigger := writeJob(t, "web.nomad", jobHCL("web", 3, ""))
	r = mustRoam(t, c, 1, "job", "plan", bigger)
	assertContains(t, r, `+/- Job: "web"`, "2 create")

	unplaceable := writeJob(t, "win.nomad", jobHCL("win", 1, `constraint {
      attribute = "${attr.kernel.name}"
      value     = "windows"
    }`))
	r = mustRoam(t, c, 1, "job", "plan", unplaceable)
	assertContains(t, r, "- WARNING: Failed to place all allocations.", `Task Group "web" (failed to place 1 allocation):`)

	broken := writeJob(t, "broken.nomad", "job \"x\" {\n  group \"g\" {\n    count = \n")
	r = mustRoam(t, c, 255, "job", "plan", broken)
	assertContains(t, r, "broken.nomad:")

	r = mustRoam(t, c, 0, "job", "plan", "-json", path)
	assertJSON(t, r, '{')
}

func TestJobValidate(t *testing.T) {
	c := apitest.Start(t)
	ok := writeJob(t, "ok.nomad", jobHCL("ok", 1, ""))
	assertContains(t, mustRoam(t, c, 0, "job", "validate", ok), "Job validation successful")

	broken := writeJob(t, "broken.nomad", "job \"x\" {\n  group \"g\" {\n    count = \"many\"\n  }\n}\n")
	r := mustRoam(t, c, 1, "job", "validate", broken)
	if !regexp.MustCompile(`broken\.nomad:3:\d+: `).MatchString(r.stderr) {
		t.Errorf("no file:line:column in the error:\n%s", r)
	}

	invalid := writeJob(t, "invalid.nomad", strings.Replace(jobHCL("inv", 1, ""), "count = 1", "count = -1", 1))
	r = mustRoam(t, c, 1, "job", "validate", invalid)
	assertContains(t, r, "Job validation errors:")

	vars := writeJob(t, "vars.nomad", "variable \"n\" {\n  type = number\n}\n"+strings.Replace(jobHCL("v", 1, ""), "count = 1", "count = var.n", 1))
	mustRoam(t, c, 1, "job", "validate", vars)
	mustRoam(t, c, 0, "job", "validate", "-var", "n=2", vars)
	env := map[string]string{"ROAM_ADDR": c.URL, "NOMAD_VAR_n": "3"}
	if r := runCLI(t, env, "job", "validate", vars); r.code != 0 {
		t.Errorf("NOMAD_VAR_n not used:\n%s", r)
	}
}

func TestJobStatusInspectHistoryRevertStop(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	path := writeJob(t, "web.nomad", jobHCL("web", 1, ""))
	mustRoam(t, c, 0, "job", "run", path)

	assertContains(t, mustRoam(t, c, 0, "job", "status"), "ID", "Submit Date", "web")
	assertContains(t, mustRoam(t, c, 0, "status"), "web")
	r := mustRoam(t, c, 0, "job", "status", "we")
	assertContains(t, r, "ID            = web", "Type          = service", "Datacenters   = dc1",
		"Summary", "Task Group  Queued  Starting  Running  Failed  Complete  Lost  Unknown", "Allocations",
		"ID        Node ID   Task Group  Version  Desired  Status   Created  Modified")
	assertJSON(t, mustRoam(t, c, 0, "job", "status", "-json"), '[')
	assertJSON(t, mustRoam(t, c, 0, "job", "status", "-json", "web"), '{')
	assertContains(t, mustRoam(t, c, 0, "job", "status", "-t", "{{.Job.ID}}/{{len .Allocations}}", "web"), "web/1")

	r = mustRoam(t, c, 0, "job", "inspect", "web")
	var wrapped struct{ Job struct{ ID string } }
	if err := json.Unmarshal([]byte(r.stdout), &wrapped); err != nil || wrapped.Job.ID != "web" {
		t.Errorf("inspect output: %v\n%s", err, r)
	}

	mustRoam(t, c, 0, "job", "run", writeJob(t, "web.nomad", jobHCL("web", 2, "")))
	r = mustRoam(t, c, 0, "job", "history", "-p", "web")
	assertContains(t, r, "Version     = 1", "Version     = 0", `+/- Job: "web"`, "Count")
	assertJSON(t, mustRoam(t, c, 0, "job", "history", "-json", "web"), '[')
	assertContains(t, mustRoam(t, c, 0, "job", "inspect", "-version", "0", "web"), `"Count": 1`)

	r = mustRoam(t, c, 0, "job", "revert", "web", "0")
	assertContains(t, r, `finished with status "complete"`)
	assertContains(t, mustRoam(t, c, 0, "job", "inspect", "-t", "{{.Version}} {{(index .TaskGroups 0).Count}}", "web"), "2 1")
	mustRoam(t, c, 1, "job", "revert", "web", "x")

	r = mustRoam(t, c, 0, "job", "stop", "-purge", "web")
	assertContains(t, r, `Evaluation triggered by job "web"`, `finished with status "complete"`)
	assertContains(t, mustRoam(t, c, 1, "job", "status", "web"), `no job with prefix "web" found`)
}

func TestPrefixAmbiguity(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	mustRoam(t, c, 0, "job", "run", "-detach", writeJob(t, "a.nomad", jobHCL("web-a", 1, "")))
	mustRoam(t, c, 0, "job", "run", "-detach", writeJob(t, "b.nomad", jobHCL("web-b", 1, "")))
	r := mustRoam(t, c, 1, "job", "status", "web-")
	assertContains(t, r, `Prefix "web-" matches multiple jobs`, "web-a", "web-b")
	assertContains(t, mustRoam(t, c, 0, "job", "status", "web-b"), "ID            = web-b")
	mustRoam(t, c, 1, "job", "stop", "web-")
	r = mustRoam(t, c, 0, "job", "stop", "-purge", "-detach", "web-a")
	if strings.Contains(r.stdout, "Are you sure") {
		t.Errorf("an exact ID asked for confirmation:\n%s", r)
	}
	// "web-" now names only web-b: a prefix, so stop asks first.
	r = mustRoam(t, c, 1, "job", "stop", "web-")
	assertContains(t, r, `Are you sure you want to stop job "web-b"? [y/N]`, "Cancelling")
	mustRoam(t, c, 0, "job", "stop", "-yes", "-detach", "web-")
}

// TestJobRunOfInspectOutput: what `job inspect` prints (the API's JSON,
// wrapped in "Job") runs again as a job file, by itself or with -json, and
// so does `job run -output`; JSON that is no job is refused naming the file.
func TestJobRunOfInspectOutput(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	mustRoam(t, c, 0, "job", "run", "-detach", writeJob(t, "web.nomad", jobHCL("web", 1, "")))
	inspected := mustRoam(t, c, 0, "job", "inspect", "web").stdout
	changed := strings.Replace(inspected, `"Count": 1`, `"Count": 2`, 1)
	path := writeJob(t, "web.json", changed)
	mustRoam(t, c, 0, "job", "validate", path)
	mustRoam(t, c, 0, "job", "run", "-detach", path)
	assertContains(t, mustRoam(t, c, 0, "job", "inspect", "-t", "{{.Version}} {{(index .TaskGroups 0).Count}}", "web"), "1 2")

	out := mustRoam(t, c, 0, "job", "run", "-output", writeJob(t, "api.nomad", jobHCL("api", 1, ""))).stdout
	mustRoam(t, c, 0, "job", "run", "-detach", "-json", writeJob(t, "api.json", out))
	assertContains(t, mustRoam(t, c, 0, "job", "status", "api"), "ID            = api")

	r := mustRoam(t, c, 1, "job", "run", "-json", writeJob(t, "bad.json", `{"Job": ["x"]}`))
	assertContains(t, r, "bad.json as JSON")
}
