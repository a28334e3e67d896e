package ui_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/roam-sh/roam/agent"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
)

// webJob prints a line a second, and writes a source file and a PNG image
// into its directory for the file explorer.
const webJob = `
job "web" {
  datacenters = ["dc1"]
  group "frontend" {
    task "server" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", <<EOS
cat > local/app.py <<'PY'
# a source file the explorer highlights
def greet(name):
    return "hello " + name
PY
echo iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg== | base64 -d > local/dot.png
printf TOPSECRET > secrets/token
printf 'MZ\000\001\002\003\377\376binary' > local/blob.bin
i=0
while :; do i=$((i+1)); echo "tick $i"; echo "warn $i" >&2; sleep 1; done
EOS
        ]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`

// brokenJob's task fails at once, and is neither restarted nor
// rescheduled: a failing allocation and its reason.
const brokenJob = `
job "broken" {
  datacenters = ["dc1"]
  group "db" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "migrate" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo connecting; echo 'database url missing' >&2; exit 3"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// TestFailingAllocation: an operator finds the failing allocation from the
// jobs list and sees why it failed: the job shows a failed allocation, the
// allocation its task's exit code, and the logs what the task said.
func TestFailingAllocation(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	alloc := la.RunJob(t, brokenJob, structs.TaskStateDead)
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/jobs")
	b.waitText("main", "broken", "1 failed")
	b.click(`a[href="/ui/jobs/broken"]`)
	b.waitText("main", "db", "1 failed", alloc.ID[:8], "migrate: Terminated (Exit Code: 3)")
	b.click(`a[href="/ui/allocations/` + alloc.ID + `"]`)
	b.waitText("main", "failed", "migrate", "Terminated", "Exit Code: 3")
	b.waitText(".error", "Task migrate failed: Terminated (Exit Code: 3)", "stderr of migrate")
	b.click(".error a")
	b.waitText("#log-output", "database url missing")
	b.waitText("#log-status", "end of log")
	b.check()
}

// TestPages: each page shows the agent's data, as an operator sees it in
// Chromium: the jobs list, a job, its allocation, the clients, a client and
// the servers. No page may throw or break the Content-Security-Policy.
func TestPages(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	alloc := la.RunJob(t, webJob, structs.TaskStateRunning)
	b := newBrowser(t, la.URL, 1280, 900)

	b.open("/ui/jobs")
	b.waitText("main", "web", "service", "running", "1 running")
	b.check()

	b.open("/ui/jobs/web")
	b.waitText("main", "frontend", "server (raw_exec)", alloc.ID[:8], "Evaluations", "Version 0")
	b.check()

	// The link Nomad's CLI prints (job status, job promote) names the
	// namespace after an @.
	b.open("/ui/jobs/web@default")
	b.waitText("main", "frontend", "server (raw_exec)", alloc.ID[:8])

	b.open("/ui/allocations/" + alloc.ID)
	b.waitText("main", "server", "running", "Started", "frontend", "CPU (MHz)")
	b.check()

	b.open("/ui/clients")
	node := la.Agent.Config().NodeName
	b.waitText("main", node, "ready", "eligible", "raw_exec")
	b.open("/ui/clients/" + alloc.NodeID)
	b.waitText("main", node, "raw_exec", "Drivers", alloc.ID[:8])
	// The page is served by the node's own agent: node doctor's findings.
	b.waitText("main", "Host check (node doctor)", "network namespaces", "bridge devices")
	b.check()

	b.open("/ui/servers")
	b.waitText("main", "alive", "leader")
	b.check()
}

// TestMissingJob: the page of a job that does not exist says so from the
// job's first read, naming the job and the namespace, without the empty
// sections and the summary's error that used to follow its retries.
func TestMissingJob(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/jobs/nosuchjob")
	b.waitText("main .error", "job nosuchjob not found in namespace default")
	for _, absent := range []string{"Task groups", "Allocations", "Loading the job's"} {
		if got := b.text("main"); strings.Contains(got, absent) {
			t.Errorf("the missing job's page shows %q: %s", absent, got)
		}
	}
	b.check()
}

// TestRootRedirectsToUI: the agent's root leads to the UI, whose pages
// carry the CSP; the API is unchanged beside it.
func TestRootRedirectsToUI(t *testing.T) {
	la := apitest.StartLiveAgent(t, func(c *agent.Config) { c.Client.Enabled = false })
	res, err := http.Get(la.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Request.URL.Path != "/ui/" || res.StatusCode != 200 {
		t.Fatalf("GET / ended at %s with %d, want /ui/ with 200", res.Request.URL.Path, res.StatusCode)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("the UI page's CSP is %q", csp)
	}
	res, err = http.Get(la.URL + "/ui/jobs/anything")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("deep link: %d %s, want the page", res.StatusCode, res.Header.Get("Content-Type"))
	}
}
