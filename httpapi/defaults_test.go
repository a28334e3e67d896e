package httpapi_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/internal/apitest"
)

// A job is stored the same however it arrives: as a job file (parsed, then
// sent as roam's CLI sends it), as the minimal JSON a person or Nomad's
// `job run -json` sends (every unset field absent), and through Nomad's Go
// API (every unset field null). The fields below are those whose default is
// not their zero value: without the JSON defaults the JSON and Go API jobs
// have count 0 (nothing placed), a disabled periodic block, affinities and
// spreads of weight 0 (refused), and policies whose unnamed fields are zero.
func TestJobStoredSameFromHCLJSONAndNomadAPI(t *testing.T) {
	c := apitest.Start(t)
	cl := c.Client(t)
	nc := nomadClient(t, c)
	for _, tc := range []struct {
		name   string
		hcl    string
		json   string
		nomad  func(id string) *nomadapi.Job
		checks func(t *testing.T, job *api.Job)
	}{
		{"service", defaultsServiceHCL, defaultsServiceJSON, defaultsServiceNomad, checkServiceDefaults},
		{"periodic", defaultsPeriodicHCL, defaultsPeriodicJSON, defaultsPeriodicNomad, checkPeriodicDefaults},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hclID, jsonID, nomadID := tc.name+"-hcl", tc.name+"-json", tc.name+"-nomad"
			parsed, err := cl.Jobs().Parse(&api.JobsParseRequest{JobHCL: fmt.Sprintf(tc.hcl, hclID)})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if _, _, err := cl.Jobs().Register(parsed, nil, nil); err != nil {
				t.Fatalf("register the parsed job file: %v", err)
			}
			mustCall(t, c, 200, "PUT", "/v1/jobs", fmt.Sprintf(`{"Job": `+tc.json+`}`, jsonID))
			if _, _, err := nc.Jobs().Register(tc.nomad(nomadID), nil); err != nil {
				t.Fatalf("register through Nomad's Go API: %v", err)
			}
			want := storedJob(t, c, hclID)
			tc.checks(t, ptr(decode[api.Job](t, mustCall(t, c, 200, "GET", "/v1/job/"+hclID, nil))))
			for _, id := range []string{jsonID, nomadID} {
				if got := storedJob(t, c, id); !reflect.DeepEqual(got, want) {
					t.Errorf("job %s stored differently from the job file's:\n%s", id, diffJSON(want, got))
				}
			}
		})
	}
}

// storedJob is GET /v1/job/:id without what differs by identity and time.
func storedJob(t *testing.T, c *apitest.Cluster, id string) map[string]any {
	t.Helper()
	job := decode[map[string]any](t, mustCall(t, c, 200, "GET", "/v1/job/"+id, nil))
	for _, k := range []string{"ID", "Name", "CreateIndex", "ModifyIndex", "JobModifyIndex", "SubmitTime", "Status"} {
		delete(job, k)
	}
	return job
}

// diffJSON lists the top-level keys whose values differ.
func diffJSON(want, got map[string]any) string {
	var b strings.Builder
	for k, w := range want {
		if g := got[k]; !reflect.DeepEqual(w, g) {
			wj, _ := json.Marshal(w)
			gj, _ := json.Marshal(g)
			fmt.Fprintf(&b, "%s:\n  want %s\n  got  %s\n", k, wj, gj)
		}
	}
	return b.String()
}

func checkServiceDefaults(t *testing.T, job *api.Job) {
	tg := job.TaskGroups[0]
	task := tg.Tasks[0]
	for what, ok := range map[string]bool{
		"count 1":                          tg.Count == 1,
		"scaling min = count, enabled":     tg.Scaling != nil && tg.Scaling.Min == 1 && tg.Scaling.Enabled,
		"job affinity weight 50":           job.Affinities[0].Weight == 50,
		"job spread weight 50":             job.Spreads[0].Weight == 50,
		"task affinity weight 50":          task.Affinities[0].Weight == 50,
		"group restart attempts kept":      tg.RestartPolicy.Attempts == 5 && tg.RestartPolicy.Interval == 30*time.Minute,
		"task restart over group's":        task.RestartPolicy.Attempts == 5 && task.RestartPolicy.Delay == 5*time.Second,
		"update merged over the default":   tg.Update != nil && tg.Update.MaxParallel == 2 && tg.Update.HealthyDeadline == 5*time.Minute,
		"reschedule merged over default":   tg.ReschedulePolicy.Delay == 10*time.Second && tg.ReschedulePolicy.Unlimited,
		"template splay 5s and delimiters": task.Templates[0].Splay == 5*time.Second && task.Templates[0].LeftDelim == "{{",
	} {
		if !ok {
			t.Errorf("job file default missing: %s", what)
		}
	}
}

func checkPeriodicDefaults(t *testing.T, job *api.Job) {
	if job.Periodic == nil || !job.Periodic.Enabled {
		t.Errorf("periodic not enabled: %+v", job.Periodic)
	}
	if rp := job.TaskGroups[0].ReschedulePolicy; rp.Attempts != 3 || rp.Interval != 24*time.Hour {
		t.Errorf("batch reschedule policy %+v, want attempts 3 over the batch default", rp)
	}
}

const defaultsServiceHCL = `job %q {
  datacenters = ["dc1"]
  affinity {
    attribute = "${node.datacenter}"
    value     = "dc1"
  }
  spread {
    attribute = "${node.datacenter}"
  }
  group "web" {
    scaling {
      max = 3
    }
    restart {
      attempts = 5
    }
    reschedule {
      delay = "10s"
    }
    update {
      max_parallel = 2
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["600"]
      }
      affinity {
        attribute = "${attr.kernel.name}"
        value     = "linux"
      }
      restart {
        delay = "5s"
      }
      template {
        data        = "x"
        destination = "local/x"
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`

const defaultsServiceJSON = `{
  "ID": %q, "Datacenters": ["dc1"],
  "Affinities": [{"LTarget": "${node.datacenter}", "RTarget": "dc1", "Operand": "="}],
  "Spreads": [{"Attribute": "${node.datacenter}"}],
  "TaskGroups": [{
    "Name": "web",
    "Scaling": {"Max": 3},
    "RestartPolicy": {"Attempts": 5},
    "ReschedulePolicy": {"Delay": 10000000000},
    "Update": {"MaxParallel": 2},
    "Tasks": [{
      "Name": "t", "Driver": "raw_exec",
      "Config": {"command": "/bin/sleep", "args": ["600"]},
      "Affinities": [{"LTarget": "${attr.kernel.name}", "RTarget": "linux", "Operand": "="}],
      "RestartPolicy": {"Delay": 5000000000},
      "Templates": [{"EmbeddedTmpl": "x", "DestPath": "local/x"}],
      "Resources": {"CPU": 100, "MemoryMB": 64}
    }]
  }]
}`

func defaultsServiceNomad(id string) *nomadapi.Job {
	job := nomadapi.NewServiceJob(id, id, "global", 50)
	job.Datacenters = []string{"dc1"}
	job.Affinities = []*nomadapi.Affinity{{LTarget: "${node.datacenter}", RTarget: "dc1", Operand: "="}}
	job.Spreads = []*nomadapi.Spread{{Attribute: "${node.datacenter}"}}
	task := nomadapi.NewTask("t", "raw_exec").
		SetConfig("command", "/bin/sleep").SetConfig("args", []string{"600"}).
		Require(&nomadapi.Resources{CPU: ptr(100), MemoryMB: ptr(64)})
	task.Affinities = []*nomadapi.Affinity{{LTarget: "${attr.kernel.name}", RTarget: "linux", Operand: "="}}
	task.RestartPolicy = &nomadapi.RestartPolicy{Delay: ptr(5 * time.Second)}
	task.Templates = []*nomadapi.Template{{EmbeddedTmpl: ptr("x"), DestPath: ptr("local/x")}}
	tg := &nomadapi.TaskGroup{Name: ptr("web"), Tasks: []*nomadapi.Task{task}}
	tg.Scaling = &nomadapi.ScalingPolicy{Max: ptr(int64(3))}
	tg.RestartPolicy = &nomadapi.RestartPolicy{Attempts: ptr(5)}
	tg.ReschedulePolicy = &nomadapi.ReschedulePolicy{Delay: ptr(10 * time.Second)}
	tg.Update = &nomadapi.UpdateStrategy{MaxParallel: ptr(2)}
	return job.AddTaskGroup(tg)
}

const defaultsPeriodicHCL = `job %q {
  type        = "batch"
  datacenters = ["dc1"]
  periodic {
    crons = ["0 0 1 1 *"]
  }
  group "g" {
    reschedule {
      attempts = 3
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
      restart {
        delay = "5s"
      }
    }
  }
}
`

const defaultsPeriodicJSON = `{
  "ID": %q, "Type": "batch", "Datacenters": ["dc1"],
  "Periodic": {"Specs": ["0 0 1 1 *"]},
  "TaskGroups": [{
    "Name": "g",
    "ReschedulePolicy": {"Attempts": 3},
    "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}, "RestartPolicy": {"Delay": 5000000000}}]
  }]
}`

func defaultsPeriodicNomad(id string) *nomadapi.Job {
	job := nomadapi.NewBatchJob(id, id, "global", 50)
	job.Datacenters = []string{"dc1"}
	job.Periodic = &nomadapi.PeriodicConfig{Specs: []string{"0 0 1 1 *"}}
	task := nomadapi.NewTask("t", "raw_exec").SetConfig("command", "/bin/true")
	task.RestartPolicy = &nomadapi.RestartPolicy{Delay: ptr(5 * time.Second)}
	tg := &nomadapi.TaskGroup{Name: ptr("g"), Tasks: []*nomadapi.Task{task}}
	tg.ReschedulePolicy = &nomadapi.ReschedulePolicy{Attempts: ptr(3)}
	return job.AddTaskGroup(tg)
}
