package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/testutil"
)

// templateEnvJob renders an env = true template from the task's own
// environment; the task writes what it sees.
const templateEnvJob = `
job "tmplenv" {
  datacenters = ["dc1"]
  group "g" {
    task "web" {
      driver = "raw_exec"
      template {
        data        = <<EOT
GREETING="hello from {{ env "NOMAD_TASK_NAME" }} in {{ env "NOMAD_JOB_NAME" }}"
EOT
        destination = "secrets/app.env"
        env         = true
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "echo \"$GREETING\" > local/seen; exec sleep 300"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}`

// A job's env template renders before its task starts, through a real
// agent, and its variables are in the task's environment.
func TestTemplateEnvThroughAgent(t *testing.T) {
	a := testAgent(t, nil)
	al := runJob(t, apiClient(t, a), templateEnvJob)
	seen := filepath.Join(allocRootOf(a), al.ID, "web", "local", "seen")
	testutil.WaitFor(t, 10*time.Second, func() error {
		b, err := os.ReadFile(seen)
		if err != nil || string(b) != "hello from web in tmplenv\n" {
			return fmt.Errorf("the task saw %q (%v)", b, err)
		}
		return nil
	})
}

func allocRootOf(a *Agent) string {
	if a.cfg.Client.AllocDir != "" {
		return a.cfg.Client.AllocDir
	}
	return filepath.Join(a.cfg.DataDir, "alloc")
}

// A template calling a function roam cannot serve is refused when the job
// is submitted: through the job file, with file:line:column; through the
// API, with the field path; the message names the alternative.
func TestTemplateRefusedFunctionsThroughAgent(t *testing.T) {
	a := testAgent(t, nil)
	c := apiClient(t, a)
	src := `job "kv" {
  datacenters = ["dc1"]
  group "g" {
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
      template {
        destination = "local/app.conf"
        data        = <<EOT
db = {{ range nomadService "db" }}{{ .Address }}{{ end }}
password = {{ key "db/password" }}
EOT
      }
    }
  }
}`
	_, err := c.Jobs().Parse(&api.JobsParseRequest{JobHCL: src, Canonicalize: true})
	if err == nil || !strings.Contains(err.Error(), `input.hcl:13:15: Invalid template: function "key" is not available in roam: roam has no Consul KV store; keep the value in a variable and read it with nomadVar`) {
		t.Fatalf("parse error %v", err)
	}

	job, err := c.Jobs().Parse(&api.JobsParseRequest{JobHCL: strings.Replace(src, `{{ key "db/password" }}`, "x", 1), Canonicalize: true})
	if err != nil {
		t.Fatal(err)
	}
	job.TaskGroups[0].Tasks[0].Templates[0].EmbeddedTmpl = "{{ with secret \"kv/db\" }}{{ .Data.password }}{{ end }}"
	_, _, err = c.Jobs().Register(job, nil, nil)
	want := `Task group "g": Task "web": Template 1: data: line 1, column 9: function "secret" is not available in roam: roam has no Vault integration`
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "400") {
		t.Fatalf("register error %v, want a 400 saying %s", err, want)
	}
}

// varsJob reads its own job's variable with nomadVar (through the task's
// workload identity) and records at each start what it read.
const varsJob = `
job "vars" {
  datacenters = ["dc1"]
  group "g" {
    task "web" {
      driver = "raw_exec"
      template {
        data        = "pw={{ with nomadVar \"nomad/jobs/vars\" }}{{ .password }}{{ end }}"
        destination = "secrets/pw"
        change_mode = "restart"
        splay       = "1ms"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "echo \"start $(cat secrets/pw)\" >> local/starts; exec sleep 300"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}`

// putVar writes a variable through the HTTP API.
func putVar(t *testing.T, a *Agent, path string, items map[string]string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"Items": items})
	req, _ := http.NewRequest(http.MethodPut, "http://"+a.HTTPAddr()+"/v1/var/"+path, bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("put variable %s: %s", path, resp.Status)
	}
}

// nomadVar renders the job's variable before the task starts, and a new
// version of the variable restarts the task once with the new value.
func TestTemplateNomadVarThroughAgent(t *testing.T) {
	a := testAgent(t, nil)
	putVar(t, a, "nomad/jobs/vars", map[string]string{"password": "s1"})
	al := runJob(t, apiClient(t, a), varsJob)
	starts := filepath.Join(allocRootOf(a), al.ID, "web", "local", "starts")
	waitFile := func(want string) {
		t.Helper()
		testutil.WaitFor(t, 20*time.Second, func() error {
			if b, _ := os.ReadFile(starts); string(b) != want {
				return fmt.Errorf("starts %q, want %q", b, want)
			}
			return nil
		})
	}
	waitFile("start pw=s1\n")
	begin := time.Now()
	putVar(t, a, "nomad/jobs/vars", map[string]string{"password": "s2"})
	waitFile("start pw=s1\nstart pw=s2\n")
	t.Logf("a new variable version restarted the task %v after the write", time.Since(begin))
}

// A whole agent restart (server and client, state on disk) re-attaches to
// a task and resumes its templates against the new agent's address: a
// variable written afterwards restarts the task once, and nothing else
// did. (That a re-attach with unchanged content restarts nothing is proven
// deterministically by client/taskrunner's TestTemplateClientRestart; here
// the write may race the first render.) Before the agent cancelled its
// requests at shutdown, the template's blocking read held the shutdown
// until its timeout, and Shutdown failed.
func TestTemplateSurvivesAgentRestart(t *testing.T) {
	dir := t.TempDir()
	keep := func(c *Config) { c.DataDir, c.DevMode = dir, false }
	a1 := testAgent(t, keep)
	putVar(t, a1, "nomad/jobs/vars", map[string]string{"password": "s1"})
	al := runJob(t, apiClient(t, a1), varsJob)
	starts := filepath.Join(allocRootOf(a1), al.ID, "web", "local", "starts")
	waitFile := func(want string) {
		t.Helper()
		testutil.WaitFor(t, 20*time.Second, func() error {
			if b, _ := os.ReadFile(starts); string(b) != want {
				return fmt.Errorf("starts %q, want %q", b, want)
			}
			return nil
		})
	}
	waitFile("start pw=s1\n")
	if err := a1.Shutdown(); err != nil {
		t.Fatal(err)
	}

	a2 := testAgent(t, keep)
	t.Cleanup(func() { a2.destroyAllocs(30 * time.Second) })
	testutil.WaitFor(t, 20*time.Second, func() error {
		for _, ar := range a2.Client().AllocRunners() {
			if ar.Alloc().ID == al.ID {
				return nil
			}
		}
		return fmt.Errorf("allocation %s not restored", al.ID)
	})
	putVar(t, a2, "nomad/jobs/vars", map[string]string{"password": "s2"})
	waitFile("start pw=s1\nstart pw=s2\n")
}
