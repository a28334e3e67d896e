package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// registerTemplate parses and registers a job file, returning the job.
func registerTemplate(t *testing.T, c *api.Client, src string) *api.Job {
	t.Helper()
	job, err := c.Jobs().Parse(&api.JobsParseRequest{JobHCL: src, Canonicalize: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := c.Jobs().Register(job, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Warnings != "" {
		t.Fatalf("registering %s warned: %s", job.ID, resp.Warnings)
	}
	return job
}

// waitChildDone waits for a child of parent whose allocation completed and
// returns that allocation.
func waitChildDone(t *testing.T, c *api.Client, parent *api.Job) *api.AllocListStub {
	t.Helper()
	var done *api.AllocListStub
	testutil.WaitFor(t, 30*time.Second, func() error {
		kids, err := c.Jobs().Children(parent, nil)
		if err != nil {
			return err
		}
		var seen []string
		for _, k := range kids {
			seen = append(seen, k.ID+" "+string(k.Status))
			if k.Status != structs.JobStatusDead {
				continue
			}
			allocs, _, err := c.Jobs().Allocations(k.ID, false, nil)
			if err != nil {
				return err
			}
			for _, a := range allocs {
				seen = append(seen, "alloc "+string(a.ClientStatus))
				if a.ClientStatus == structs.AllocClientStatusComplete {
					done = a
					return nil
				}
			}
		}
		return fmt.Errorf("children of %s: %v; none completed yet", parent.ID, seen)
	})
	return done
}

const periodicEverySecond = `
job "tick" {
  datacenters = ["dc1"]
  type        = "batch"
  periodic {
    crons            = ["*/1 * * * * * *"]
    time_zone        = "Europe/Paris"
    prohibit_overlap = true
  }
  group "g" {
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo launched as $NOMAD_JOB_ID of $NOMAD_JOB_PARENT_ID > local/seen"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}`

// A periodic job with a cron firing every second launches children through
// a real agent; a child runs its raw_exec task to completion, knowing its
// parent; the parent's summary counts it.
func TestPeriodicJobRunsThroughAgent(t *testing.T) {
	a := testAgent(t, nil)
	c := apiClient(t, a)
	parent := registerTemplate(t, c, periodicEverySecond)
	done := waitChildDone(t, c, parent)
	seen := filepath.Join(allocRootOf(a), done.ID, "web", "local", "seen")
	b, err := os.ReadFile(seen)
	if err != nil || !strings.HasPrefix(string(b), "launched as tick/periodic-") || !strings.HasSuffix(string(b), " of tick\n") {
		t.Fatalf("the child's task saw %q (%v)", b, err)
	}
	sum, _, err := c.Jobs().Summary("tick", nil)
	if err != nil || sum.Children == nil || sum.Children.Dead < 1 {
		t.Fatalf("children summary %+v (%v), want a dead child", sum, err)
	}
}

const parameterizedJobHCL = `
job "convert" {
  datacenters = ["dc1"]
  type        = "batch"
  meta {
    owner = "ops"
  }
  parameterized {
    payload       = "required"
    meta_required = ["input"]
    meta_optional = ["mode"]
  }
  group "g" {
    task "web" {
      driver = "raw_exec"
      dispatch_payload {
        file = "in/payload.txt"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "{ cat local/in/payload.txt; echo \"input=$NOMAD_META_input mode=$NOMAD_META_mode owner=$NOMAD_META_owner\"; } > local/seen"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}`

// A dispatched job's task finds the payload in local/<dispatch_payload
// file> and the dispatch meta (over the job's) in NOMAD_META_*; a dispatch
// that breaks the parameterized block's rules is a 400 saying why.
func TestDispatchPayloadAndMetaThroughAgent(t *testing.T) {
	a := testAgent(t, nil)
	c := apiClient(t, a)
	parent := registerTemplate(t, c, parameterizedJobHCL)
	resp, _, err := c.Jobs().Dispatch("convert", map[string]string{"input": "report.csv"}, []byte("payload line\n"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.DispatchedJobID, "convert/dispatch-") || resp.EvalID == "" {
		t.Fatalf("dispatch reply %+v", resp)
	}
	done := waitChildDone(t, c, parent)
	seen := filepath.Join(allocRootOf(a), done.ID, "web", "local", "seen")
	b, err := os.ReadFile(seen)
	if want := "payload line\ninput=report.csv mode= owner=ops\n"; err != nil || string(b) != want {
		t.Fatalf("the dispatched task saw %q (%v), want %q", b, err, want)
	}

	for name, call := range map[string]func() error{
		"missing payload": func() error {
			_, _, err := c.Jobs().Dispatch("convert", map[string]string{"input": "x"}, nil, "", nil)
			return err
		},
		"bad meta": func() error {
			_, _, err := c.Jobs().Dispatch("convert", map[string]string{"colour": "red"}, []byte("x"), "", nil)
			return err
		},
	} {
		err := call()
		if api.StatusCode(err) != 400 || !strings.Contains(err.Error(), "convert") {
			t.Errorf("%s: %v, want a 400 naming the job", name, err)
		}
	}
}
