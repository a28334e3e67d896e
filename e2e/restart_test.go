package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

const serviceJob = `
job "pinger" {
  datacenters = ["dc1"]
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo $$ > ${NOMAD_ALLOC_DIR}/pid; exec sleep 3600"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

const batchJob = `
job "once" {
  type = "batch"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
`

// runningAlloc waits for the job's single allocation to run and returns it.
func runningAlloc(t *testing.T, c *api.Client, job string) *api.Allocation {
	t.Helper()
	var out *api.Allocation
	testutil.WaitFor(t, 30*time.Second, func() error {
		stubs, _, err := c.Jobs().Allocations(job, false, nil)
		if err != nil {
			return err
		}
		if len(stubs) != 1 || stubs[0].ClientStatus != structs.AllocClientStatusRunning {
			return fmt.Errorf("allocs of %s: %d, want one running", job, len(stubs))
		}
		a, _, err := c.Allocations().Info(stubs[0].ID, nil)
		out = a
		return err
	})
	return out
}

func taskPID(t *testing.T, dataDir, allocID string) int {
	t.Helper()
	var pid int
	testutil.WaitFor(t, 10*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(dataDir, "alloc", allocID, "alloc", "pid"))
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	return pid
}

// TestServerClientRestartKeepsEverything runs a non-dev agent from a config
// file, restarts it (gracefully, then by SIGKILL) on the same data_dir and
// checks that jobs, allocations and nodes come back and that the running task
// was re-attached, not restarted.
func TestServerClientRestartKeepsEverything(t *testing.T) {
	dataDir := t.TempDir()
	testutil.CleanupMounts(t, dataDir)
	a := startAgent(t, dataDir, serverClientConfig(t, dataDir))
	c := a.api(t)

	if out, code := a.roam(t, "job", "run", writeJob(t, "svc.nomad", serviceJob)); code != 0 {
		t.Fatalf("job run: %d\n%s", code, out)
	}
	if out, code := a.roam(t, "job", "run", writeJob(t, "batch.nomad", batchJob)); code != 0 {
		t.Fatalf("job run batch: %d\n%s", code, out)
	}
	// The batch job must have finished before the first restart: the check
	// after each restart is that a dead job stays dead.
	testutil.WaitFor(t, 30*time.Second, func() error {
		if out, code := a.roam(t, "job", "status", "once"); code != 0 || !strings.Contains(out, "dead") {
			return fmt.Errorf("batch job not dead yet (%d):\n%s", code, out)
		}
		return nil
	})
	before := runningAlloc(t, c, "pinger")
	pid := taskPID(t, dataDir, before.ID)
	started := before.TaskStates["t"].StartedAt

	for _, how := range []string{"graceful", "sigkill"} {
		if how == "graceful" {
			a.stop()
		} else {
			a.kill()
		}
		if err := syscall.Kill(pid, 0); err != nil {
			t.Fatalf("%s: task %d died with the agent: %v", how, pid, err)
		}
		a = launch(t, dataDir, a.cfgPath)
		c = a.api(t)

		jobs, _, err := c.Jobs().List(nil)
		if err != nil || len(jobs) != 2 {
			t.Fatalf("%s: jobs after restart: %d (%v)", how, len(jobs), err)
		}
		nodes, _, err := c.Nodes().List(nil)
		if err != nil || len(nodes) != 1 {
			t.Fatalf("%s: nodes after restart: %d (%v)", how, len(nodes), err)
		}
		after := runningAlloc(t, c, "pinger")
		if after.ID != before.ID {
			t.Fatalf("%s: allocation replaced: %s -> %s", how, before.ID, after.ID)
		}
		ts := after.TaskStates["t"]
		if ts.Restarts != 0 || !ts.StartedAt.Equal(started) {
			t.Fatalf("%s: task restarted: restarts=%d started %v (was %v)", how, ts.Restarts, ts.StartedAt, started)
		}
		if got := taskPID(t, dataDir, after.ID); got != pid {
			t.Fatalf("%s: task PID changed %d -> %d", how, pid, got)
		}
		out, code := a.roam(t, "job", "status", "once")
		if code != 0 || !strings.Contains(out, "dead") {
			t.Fatalf("%s: batch job after restart (%d):\n%s", how, code, out)
		}
	}
}
