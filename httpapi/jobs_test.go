package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
)

func TestJobLifecycle(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	c.RegisterNode(t)
	job := apitest.Job("web", 2)
	reg := register(t, c, job)

	list := mustCall(t, c, http.StatusOK, "GET", "/v1/jobs", nil)
	assertMetaHeaders(t, list)
	if idx, _ := strconv.ParseUint(list.header.Get("X-Nomad-Index"), 10, 64); idx == 0 {
		t.Errorf("X-Nomad-Index = 0 after a registration")
	}
	if list.header.Get("X-Nomad-KnownLeader") != "true" {
		t.Errorf("X-Nomad-KnownLeader = %q", list.header.Get("X-Nomad-KnownLeader"))
	}
	stubs := decode[[]structs.JobListStub](t, list)
	if len(stubs) != 1 || stubs[0].ID != "web" || stubs[0].JobSummary == nil {
		t.Fatalf("job list = %+v", stubs)
	}

	got := decode[structs.Job](t, mustCall(t, c, 200, "GET", "/v1/job/web", nil))
	if got.ID != "web" || got.Namespace != "default" || got.TaskGroups[0].Count != 2 {
		t.Fatalf("job = %+v", got)
	}
	sum := decode[structs.JobSummary](t, mustCall(t, c, 200, "GET", "/v1/job/web/summary", nil))
	if _, ok := sum.Summary["web"]; !ok {
		t.Errorf("summary has no group web: %+v", sum)
	}
	allocs := decode[[]structs.AllocListStub](t, mustCall(t, c, 200, "GET", "/v1/job/web/allocations?all=true", nil))
	if len(allocs) != 2 {
		t.Errorf("%d allocations, want 2", len(allocs))
	}
	evals := decode[[]structs.Evaluation](t, mustCall(t, c, 200, "GET", "/v1/job/web/evaluations", nil))
	if len(evals) == 0 || evals[0].JobID != "web" {
		t.Errorf("evaluations = %+v", evals)
	}
	if reg.JobModifyIndex == 0 {
		t.Errorf("register response has no JobModifyIndex")
	}
	testJobUpdates(t, c, job)
}

// testJobUpdates changes, versions, reverts, evaluates and removes the job.
func testJobUpdates(t *testing.T, c *apitest.Cluster, job *structs.Job) {
	job.TaskGroups[0].Count = 3
	r := mustCall(t, c, 200, "POST", "/v1/job/web", map[string]any{"Job": job})
	c.WaitEval(t, decode[structs.JobRegisterResponse](t, r).EvalID)

	vers := decode[structs.JobVersionsResponse](t, mustCall(t, c, 200, "GET", "/v1/job/web/versions?diffs=true", nil))
	if len(vers.Versions) != 2 || vers.Versions[0].Version != 1 || len(vers.Diffs) != 1 {
		t.Fatalf("versions = %d (newest %d), diffs = %d", len(vers.Versions), vers.Versions[0].Version, len(vers.Diffs))
	}
	rev := mustCall(t, c, 200, "PUT", "/v1/job/web/revert", map[string]any{"JobID": "web", "JobVersion": 0})
	c.WaitEval(t, decode[structs.JobRegisterResponse](t, rev).EvalID)
	cur := decode[structs.Job](t, mustCall(t, c, 200, "GET", "/v1/job/web", nil))
	if cur.TaskGroups[0].Count != 2 || cur.Version != 2 {
		t.Errorf("after revert: count %d version %d, want 2 and 2", cur.TaskGroups[0].Count, cur.Version)
	}
	mustCall(t, c, 200, "PUT", "/v1/job/web/stable", map[string]any{"JobVersion": 2, "Stable": true})
	ev := decode[structs.JobRegisterResponse](t, mustCall(t, c, 200, "PUT", "/v1/job/web/evaluate", nil))
	if ev.EvalID == "" {
		t.Errorf("evaluate returned no evaluation")
	}
	c.WaitEval(t, ev.EvalID)

	plan := decode[structs.JobPlanResponse](t, mustCall(t, c, 200, "PUT", "/v1/job/web/plan", map[string]any{"Job": job, "Diff": true}))
	if plan.Diff == nil || plan.Annotations == nil {
		t.Errorf("plan has no diff or annotations: %+v", plan)
	}

	dereg := decode[structs.JobDeregisterResponse](t, mustCall(t, c, 200, "DELETE", "/v1/job/web?purge=true", nil))
	c.WaitEval(t, dereg.EvalID)
	if r := mustCall(t, c, 404, "GET", "/v1/job/web", nil); r.text() != "job not found" {
		t.Errorf("body after purge = %q", r.text())
	}
}

func TestEmptyListsAreArrays(t *testing.T) {
	c := apitest.Start(t)
	for _, path := range []string{"/v1/jobs", "/v1/allocations", "/v1/evaluations", "/v1/nodes",
		"/v1/job/none/allocations", "/v1/job/none/evaluations", "/v1/node/none/allocations", "/v1/status/peers"} {
		r := mustCall(t, c, 200, "GET", path, nil)
		if !strings.HasPrefix(r.text(), "[") {
			t.Errorf("GET %s = %s, want a JSON array", path, r.text())
		}
		if path != "/v1/status/peers" && r.text() != "[]" {
			t.Errorf("GET %s = %s, want []", path, r.text())
		}
		assertMetaHeaders(t, r)
	}
}

func TestNotFound(t *testing.T) {
	c := apitest.Start(t)
	for path, body := range map[string]string{
		"/v1/job/nope":          "job not found",
		"/v1/job/nope/summary":  "job not found",
		"/v1/job/nope/versions": "job versions not found",
		"/v1/allocation/nope":   "alloc not found",
		"/v1/evaluation/nope":   "eval not found",
		"/v1/node/nope":         "node not found",
	} {
		r := mustCall(t, c, 404, "GET", path, nil)
		if r.text() != body {
			t.Errorf("GET %s body %q, want %q", path, r.text(), body)
		}
		assertMetaHeaders(t, r)
	}
	if r := mustCall(t, c, 404, "DELETE", "/v1/job/nope", nil); !strings.Contains(r.text(), "not found") {
		t.Errorf("DELETE unknown job: %q", r.text())
	}
	mustCall(t, c, 404, "PUT", "/v1/allocation/nope/stop", nil)
}

func TestJobsParse(t *testing.T) {
	c := apitest.Start(t)
	src := "variable \"n\" {\n  default = 1\n}\njob \"parsed\" {\n  group \"g\" {\n    count = var.n\n" +
		"    task \"t\" {\n      driver = \"raw_exec\"\n      config { command = \"/bin/true\" }\n    }\n  }\n}\n"
	job := decode[structs.Job](t, mustCall(t, c, 200, "PUT", "/v1/jobs/parse",
		map[string]any{"JobHCL": src, "Variables": "n = 4", "Canonicalize": true}))
	if job.ID != "parsed" || job.TaskGroups[0].Count != 4 || job.Namespace != "default" {
		t.Errorf("parsed job = ID %q count %d namespace %q", job.ID, job.TaskGroups[0].Count, job.Namespace)
	}
	r := mustCall(t, c, 400, "POST", "/v1/jobs/parse", map[string]any{"JobHCL": "job \"x\" {\n  group \"g\" {\n    count = \n"})
	if !strings.Contains(r.text(), "input.hcl:") {
		t.Errorf("parse error %q has no position", r.text())
	}
	r = mustCall(t, c, 400, "PUT", "/v1/jobs/parse", map[string]any{"JobHCL": `job "x" { x = file("/etc/passwd") }`})
	if strings.Contains(r.text(), "root:") {
		t.Errorf("parse endpoint read a local file: %q", r.text())
	}
}

func TestValidateJob(t *testing.T) {
	c := apitest.Start(t)
	ok := decode[structs.JobValidateResponse](t, mustCall(t, c, 200, "PUT", "/v1/validate/job", map[string]any{"Job": apitest.Job("v", 1)}))
	if len(ok.ValidationErrors) != 0 || ok.Error != "" {
		t.Errorf("valid job reported %+v", ok)
	}
	r := mustCall(t, c, 200, "PUT", "/v1/validate/job", map[string]any{"Job": map[string]any{"ID": "v", "Type": "nonsense"}})
	if bad := decode[structs.JobValidateResponse](t, r); len(bad.ValidationErrors) == 0 {
		t.Errorf("invalid job had no validation errors: %s", r.text())
	}
	r2 := mustCall(t, c, 200, "PUT", "/v1/validate/job", `{"Job": {"ID": "v", "TaskGroups": [null]}}`)
	if !strings.Contains(r2.text(), "TaskGroups[0] is null") {
		t.Errorf("null group not reported by validate: %s", r2.text())
	}
	if !strings.Contains(r.text(), `"ValidationErrors":[`) {
		t.Errorf("ValidationErrors not a list: %s", r.text())
	}
}

// A job file too expensive to evaluate is a 422 naming the limit, and the
// agent goes on serving; before the sandbox the same request ran in the
// handler's goroutine until the agent ran out of memory.
func TestSecurityBoundsParseEndpoint(t *testing.T) {
	c := apitest.Start(t)
	hostile := map[string]string{
		"nested for": "locals {\n  a = range(1000)\n  v = [for x in local.a : [for y in local.a : [for z in local.a : x + y + z]]]\n}\n" +
			"job \"x\" {\n  meta { v = jsonencode(local.v) }\n  group \"g\" {\n    task \"t\" {\n      driver = \"exec\"\n    }\n  }\n}\n",
		"doubled string": "locals {\n  a = join(\"\", [for i in range(1024) : \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"])\n" +
			"  b = join(\"\", [for i in range(1024) : local.a])\n  v = join(\"\", [for i in range(64) : local.b])\n}\n" +
			"job \"x\" {\n  meta { v = local.v }\n  group \"g\" {\n    task \"t\" {\n      driver = \"exec\"\n    }\n  }\n}\n",
	}
	for name, src := range hostile {
		t.Run(name, func(t *testing.T) {
			r := mustCall(t, c, 422, "PUT", "/v1/jobs/parse", map[string]any{"JobHCL": src})
			if !strings.Contains(r.text(), "job file too expensive to evaluate: ") {
				t.Errorf("body = %q", r.text())
			}
		})
	}
	mustCall(t, c, 200, "PUT", "/v1/jobs/parse", map[string]any{"JobHCL": "job \"ok\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"exec\"\n    }\n  }\n}\n"})
}
