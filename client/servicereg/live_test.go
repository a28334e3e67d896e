package servicereg_test

import (
	"fmt"
	"slices"
	"testing"

	consulapi "github.com/hashicorp/consul/api"

	"github.com/roam-sh/roam/agent"
	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

const servicesJob = `
job "svc" {
  datacenters = ["*"]
  group "g" {
    shutdown_delay = "5s"
    network {
      port "http" {}
    }
    service {
      name     = "${NOMAD_JOB_NAME}-group"
      port     = "http"
      provider = "nomad"
      tags     = ["g"]
      meta {
        owner = "${NOMAD_GROUP_NAME}"
      }
    }
    task "t" {
      driver         = "raw_exec"
      shutdown_delay = "5s"
      config {
        command = "/bin/sleep"
        args    = ["600"]
      }
      service {
        name        = "${NOMAD_TASK_NAME}-api"
        port        = "http"
        provider    = "nomad"
        tags        = ["v1"]
        canary_tags = ["canary"]
      }
    }
  }
}
`

// instances reads every instance of a service (?all=true).
func instances(t *testing.T, c *api.Client, name string) []*api.ServiceRegistration {
	t.Helper()
	regs, _, err := c.Services().Get(name, &api.QueryOptions{Params: map[string]string{"all": "true"}})
	if err != nil {
		t.Fatalf("read service %s: %v", name, err)
	}
	return regs
}

// TestServicesFollowTheirTasks runs a real raw_exec task with a group and a
// task service: both are registered once the task runs, with interpolated
// names, the port the task got and Nomad's ID scheme; a restart of the
// agent (client included) leaves exactly the same instances, without
// restarting the task; stopping the job removes them while the task still
// runs out its shutdown_delay (the group's services before the group's
// delay, the task's before the task's).
func TestServicesFollowTheirTasks(t *testing.T) {
	dataDir, nodeName := t.TempDir(), "node-"+structs.GenerateUUID()[:8]
	persistent := func(c *agent.Config) {
		// Not -dev: a restarted agent must find its state and tasks.
		c.DevMode, c.DataDir, c.NodeName = false, dataDir, nodeName
	}
	la := apitest.StartLiveAgent(t, persistent)
	alloc := la.RunJob(t, servicesJob, structs.TaskStateRunning)
	c := la.Client(t)
	port := alloc.AllocatedResources.Shared.Ports[0].Value

	var group, task *api.ServiceRegistration
	testutil.WaitFor(t, apitest.Wait, func() error {
		g, tk := instances(t, c, "svc-group"), instances(t, c, "t-api")
		if len(g) != 1 || len(tk) != 1 {
			return fmt.Errorf("instances: group %d, task %d", len(g), len(tk))
		}
		group, task = g[0], tk[0]
		return nil
	})
	if want := "_nomad-task-" + alloc.ID + "-group-g-svc-group-http"; group.ID != want {
		t.Errorf("group instance ID %q, want %q", group.ID, want)
	}
	if want := "_nomad-task-" + alloc.ID + "-t-t-api-http"; task.ID != want {
		t.Errorf("task instance ID %q, want %q", task.ID, want)
	}
	for _, r := range []*api.ServiceRegistration{group, task} {
		if r.Address != "127.0.0.1" || r.Port != port || r.AllocID != alloc.ID || r.JobID != "svc" || r.NodeID != alloc.NodeID ||
			r.Provider != structs.ServiceProviderNomad || r.Health != structs.HealthPassing {
			t.Errorf("instance %+v; want 127.0.0.1:%d of alloc %s, passing", r, port, alloc.ID)
		}
	}
	if !slices.Equal(group.Tags, []string{"g"}) || group.Meta["owner"] != "g" || !slices.Equal(task.Tags, []string{"v1"}) || task.TaskName != "t" {
		t.Errorf("tags and meta: group %v %v, task %v %q", group.Tags, group.Meta, task.Tags, task.TaskName)
	}

	// Consul's agent endpoint lists this node's instances.
	cfg := consulapi.DefaultConfig()
	cfg.Address = la.URL
	cc, err := consulapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	local, err := cc.Agent().Services()
	if err != nil || local[group.ID] == nil || local[task.ID] == nil || local[task.ID].Port != port || local[task.ID].Service != "t-api" {
		t.Errorf("Agent().Services(): %v, %v", local, err)
	}

	// Restart the whole agent: the client re-attaches to the task and
	// registers the same instances again, which changes nothing.
	if err := la.Agent.Shutdown(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	la = apitest.StartLiveAgent(t, persistent)
	c = la.Client(t)
	after := la.WaitAlloc(t, "svc", func(a *api.Allocation) error {
		if st := a.TaskStates["t"]; st == nil || st.State != structs.TaskStateRunning {
			return fmt.Errorf("task not running after the restart")
		}
		return nil
	})
	if st := after.TaskStates["t"]; st.Restarts != 0 {
		t.Errorf("the task restarted %d times across the agent restart", st.Restarts)
	}
	for name, before := range map[string]*api.ServiceRegistration{"svc-group": group, "t-api": task} {
		regs := instances(t, c, name)
		if len(regs) != 1 || regs[0].ID != before.ID || regs[0].CreateIndex != before.CreateIndex {
			t.Errorf("%s after the restart: %+v, want only %s created at %d", name, regs, before.ID, before.CreateIndex)
		}
	}

	// Stop: the instances leave the catalog before the task is killed.
	if _, _, err := c.Jobs().Deregister("svc", false, nil); err != nil {
		t.Fatalf("stop job: %v", err)
	}
	// The client's own view of the task (the servers' lags behind).
	events := func() []string {
		var out []string
		for _, ar := range la.Agent.Client().AllocRunners() {
			if st := ar.TaskStates()["t"]; st != nil {
				for _, ev := range st.Events {
					out = append(out, ev.Type)
				}
			}
		}
		return out
	}
	gone := func(name string) {
		testutil.WaitFor(t, apitest.Wait, func() error {
			if n := len(instances(t, c, name)); n != 0 {
				return fmt.Errorf("%d instances of %s still registered", n, name)
			}
			return nil
		})
	}
	// The group's instance leaves, then the group's shutdown_delay runs:
	// the task is not being killed yet.
	gone("svc-group")
	if ev := events(); slices.Contains(ev, structs.TaskKilling) {
		t.Errorf("the task was being killed when the group's instance left: %v", ev)
	}
	// The task's instance leaves before its own shutdown_delay and kill:
	// the process has not exited.
	gone("t-api")
	if ev := events(); slices.Contains(ev, structs.TaskTerminated) {
		t.Errorf("the task had exited when its instance left: %v", ev)
	}
	la.WaitAlloc(t, "svc", func(a *api.Allocation) error {
		if !a.ClientTerminalStatus() {
			return fmt.Errorf("alloc %s still %s", a.ID, a.ClientStatus)
		}
		return nil
	})
}
