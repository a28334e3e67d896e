package agent

import (
	"fmt"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// TestSecurityLimitsStoppedOnDownNode: a job placed on a node whose client
// has gone away, then stopped, leaves no allocation pending with desired
// status stop: no client will ever report them, so when the node is marked
// down its stopped allocations are marked lost. (Agent B is shut down before
// the job is registered, so the order is certain, not a race the test hopes
// to hit; the client side of the same gap, a client that first sees an
// allocation already stopped, is TestSecurityLimitsStoppedBeforeStart in
// package client.)
func TestSecurityLimitsStoppedOnDownNode(t *testing.T) {
	a := testAgent(t, nil)
	bName := "node-" + structs.GenerateUUID()[:8]
	b := testAgent(t, func(c *Config) {
		c.Server.Enabled = false
		c.Client.Servers = []string{a.Server().LocalAddr()}
		c.NodeName = bName
	})
	if err := b.Shutdown(); err != nil {
		t.Fatal(err)
	}
	// B's node stays ready on the servers until its heartbeat TTL runs out.
	c := apiClient(t, a)
	job, err := c.Jobs().Parse(&api.JobsParseRequest{JobHCL: fmt.Sprintf(`
job "stop-early" {
  datacenters = ["dc1"]
  constraint {
    attribute = "${node.unique.name}"
    value     = %q
  }
  group "g" {
    count = 3
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["300"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}`, bName), Canonicalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Jobs().Register(job, nil, nil); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		stubs, _, err := c.Jobs().Allocations("stop-early", true, nil)
		if err != nil || len(stubs) != 3 {
			return fmt.Errorf("%d allocations placed: %v", len(stubs), err)
		}
		return nil
	})
	if _, _, err := c.Jobs().Deregister("stop-early", false, nil); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		stubs, _, err := c.Jobs().Allocations("stop-early", true, nil)
		for _, s := range stubs {
			if s.DesiredStatus != structs.AllocDesiredStatusStop {
				return fmt.Errorf("alloc %s desired %s", s.ID, s.DesiredStatus)
			}
		}
		return err
	})
	// B's heartbeat TTL (about 10s) and the grace (10s) run out first.
	testutil.WaitFor(t, 60*time.Second, func() error {
		stubs, _, err := c.Jobs().Allocations("stop-early", true, nil)
		if err != nil {
			return err
		}
		for _, s := range stubs {
			if !s.ClientStatus.Terminal() {
				return fmt.Errorf("alloc %s: desired %s, client %s", s.ID, s.DesiredStatus, s.ClientStatus)
			}
		}
		return nil
	})
}
