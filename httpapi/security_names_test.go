package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
)

// TestSecurityNamesRefusedByAPI: names that become path components on a
// client (a task's directory, its log files; template, artifact and
// dispatch payload destinations) are refused at registration with the
// field path, and by the parse endpoint at file:line:column; names Nomad
// accepts in real jobs still pass.
func TestSecurityNamesRefusedByAPI(t *testing.T) {
	c := apitest.Start(t)
	refused := []struct {
		name string
		edit func(*structs.Task)
		want string
	}{
		{"dot", func(t *structs.Task) { t.Name = "." }, `Task ".": task name "." names a directory`},
		{"dotdot", func(t *structs.Task) { t.Name = ".." }, `task name ".." names a directory`},
		{"slash", func(t *structs.Task) { t.Name = "../x" }, `must not contain '/'`},
		{"nul", func(t *structs.Task) { t.Name = "a\x00b" }, "null characters"},
		{"alloc", func(t *structs.Task) { t.Name = "alloc" }, `task name "alloc" is reserved`},
		{"Alloc", func(t *structs.Task) { t.Name = "Alloc" }, `task name "Alloc" is reserved`},
		{"network", func(t *structs.Task) { t.Name = "network" }, `"network" is reserved`},
		{"secrets", func(t *structs.Task) { t.Name = "secrets" }, `"secrets" is reserved`},
		{"private", func(t *structs.Task) { t.Name = "private" }, `"private" is reserved`},
		{"local", func(t *structs.Task) { t.Name = "local" }, `"local" is reserved`},
		{"tmp", func(t *structs.Task) { t.Name = "tmp" }, `"tmp" is reserved`},
		{"long", func(t *structs.Task) { t.Name = strings.Repeat("x", 300) }, "the limit is 200"},
		{"template", func(t *structs.Task) {
			t.Templates = []*structs.Template{{EmbeddedTmpl: "x", DestPath: "../../../etc/cron.d/x"}}
		}, `Template 1: destination "../../../etc/cron.d/x" escapes the allocation directory`},
		{"template nul", func(t *structs.Task) {
			t.Templates = []*structs.Template{{EmbeddedTmpl: "x", DestPath: "local/a\x00b"}}
		}, "destination must not contain null characters"},
		{"artifact", func(t *structs.Task) {
			t.Artifacts = []*structs.TaskArtifact{{GetterSource: "https://example.com/x", RelativeDest: "local/../../../x"}}
		}, `Artifact 1: destination "local/../../../x" escapes`},
		{"payload", func(t *structs.Task) { t.DispatchPayload = &structs.DispatchPayloadConfig{File: "../../../x"} }, `Dispatch payload: file "../../../x" escapes`},
	}
	for i, tc := range refused {
		job := apitest.Job(fmt.Sprintf("names-%d", i), 1)
		tc.edit(job.TaskGroups[0].Tasks[0])
		r := call(t, c, "PUT", "/v1/jobs", map[string]any{"Job": job})
		if r.code != http.StatusBadRequest || !strings.Contains(r.text(), tc.want) {
			t.Errorf("%s: %d %q, want 400 containing %q", tc.name, r.code, r.text(), tc.want)
		}
	}
	accepted := []func(*structs.Task){
		func(t *structs.Task) { t.Name = "web.v2" },
		func(t *structs.Task) { t.Name = "my-task_1" },
		func(t *structs.Task) { t.Name = "logs" }, // inside alloc/, not beside the tasks
		func(t *structs.Task) { t.Name = "data" },
		func(t *structs.Task) { t.Name = "..hidden" },
		func(t *structs.Task) { t.Name = "web.stdout" },
		func(t *structs.Task) {
			t.Templates = []*structs.Template{{EmbeddedTmpl: "x", DestPath: "../alloc/data/conf"}}
			t.Artifacts = []*structs.TaskArtifact{{GetterSource: "https://example.com/x", RelativeDest: "/local/x"}}
		},
	}
	for i, edit := range accepted {
		job := apitest.Job(fmt.Sprintf("named-%d", i), 1)
		edit(job.TaskGroups[0].Tasks[0])
		if r := call(t, c, "PUT", "/v1/jobs", map[string]any{"Job": job}); r.code != http.StatusOK {
			t.Errorf("accepted job %d: %d %q", i, r.code, r.text())
		}
	}
	src := "job \"x\" {\n  group \"g\" {\n    task \"alloc\" {\n      driver = \"raw_exec\"\n      config { command = \"/bin/true\" }\n    }\n  }\n}\n"
	r := mustCall(t, c, 400, "PUT", "/v1/jobs/parse", map[string]any{"JobHCL": src})
	if !strings.Contains(r.text(), "input.hcl:3:10") || !strings.Contains(r.text(), `"alloc" is reserved`) {
		t.Errorf("parse: %q, want the label's position and the reason", r.text())
	}
}
