package servicereg_test

import (
	"fmt"
	"slices"
	"testing"

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
	testutil.WaitFor(t, apitest.Wait, func() error {
		if n := len(instances(t, c, "svc-group")) + len(instances(t, c, "t-api")); n != 0 {
			return fmt.Errorf("%d instances still registered", n)
		}
		return nil
	})
	now, _, err := c.Allocations().Info(alloc.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := now.TaskStates["t"]; st.State != structs.TaskStateRunning {
		t.Errorf("the task was %s when its instances left the catalog; want still running (shutdown_delay)", st.State)
	}
	la.WaitAlloc(t, "svc", func(a *api.Allocation) error {
		if !a.ClientTerminalStatus() {
			return fmt.Errorf("alloc %s still %s", a.ID, a.ClientStatus)
		}
		return nil
	})
}
