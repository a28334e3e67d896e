package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// serviceJob is a service job of count instances that run until killed.
func serviceJob(id, node string, count int) string {
	return fmt.Sprintf(`
job %q {
  datacenters = ["dc1"]
  constraint {
    attribute = "${node.unique.name}"
    value     = %q
  }
  group "g" {
    count = %d
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo $$ >&2; exec sleep 300"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}`, id, node, count)
}

// jobProcesses lists the processes whose environment names jobID: the
// tasks of that job, wherever they were started from.
func jobProcesses(jobID string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if kv == "NOMAD_JOB_ID="+jobID {
				out = append(out, filepath.Base(d))
			}
		}
	}
	return out
}

// TestDevShutdownPlacesNoReplacement: stopping a -dev agent stops its
// tasks without the scheduler placing replacements for them meanwhile,
// so no task of the job is left running once the agent is gone.
func TestDevShutdownPlacesNoReplacement(t *testing.T) {
	cfg := DevConfig()
	cfg.Ports = Ports{}
	cfg.NodeName = "node-" + structs.GenerateUUID()[:8]
	cfg.Client.Executor = executortest.Binary()
	cfg.Client.DisableBridge = true
	a, err := New(cfg, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	testutil.CleanupMounts(t, a.cfg.DataDir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	jobID := "devstop-" + structs.GenerateUUID()[:8]
	c := apiClient(t, a)
	job, err := c.Jobs().Parse(&api.JobsParseRequest{JobHCL: serviceJob(jobID, cfg.NodeName, 3), Canonicalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Jobs().Register(job, nil, nil); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		if n := len(jobProcesses(jobID)); n != 3 {
			return fmt.Errorf("%d of 3 tasks running", n)
		}
		return nil
	})
	// Count the job's allocations in the servers' state while the agent
	// shuts down: a replacement would be a fourth.
	var mu sync.Mutex
	seen := map[string]bool{}
	watchDone := make(chan struct{})
	stopWatch := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			allocs, _ := a.server.State().AllocsByJob(nil, structs.DefaultNamespace, jobID, true)
			mu.Lock()
			for _, al := range allocs {
				seen[al.ID] = true
			}
			mu.Unlock()
			select {
			case <-stopWatch:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	if err := a.Shutdown(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	close(stopWatch)
	<-watchDone
	if len(seen) != 3 {
		t.Errorf("%d allocations of the job existed during shutdown, want the 3 placed before it", len(seen))
	}
	if ps := jobProcesses(jobID); len(ps) > 0 {
		t.Errorf("tasks of %s still running after shutdown: pids %v", jobID, ps)
	}
}
