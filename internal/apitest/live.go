package apitest

import (
	"context"
	"fmt"
	"testing"

	"github.com/roam-sh/roam/agent"
	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/jobspec"
	"github.com/roam-sh/roam/jobspec/sandbox/sandboxtest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// LiveAgent is a whole roam agent in-process (agent.New): a server and a
// client that really runs raw_exec tasks, with its HTTP API on a loopback
// port. Test binaries using it must call executortest.MaybeRun from
// TestMain: the tasks' executors are the test binary re-executed.
type LiveAgent struct {
	Agent *agent.Agent
	// URL is the HTTP API's base address.
	URL     string
	DataDir string
}

// StartLiveAgent starts a -dev style agent (server and client, raw_exec
// enabled) on 127.0.0.1 with ports picked by the kernel and its data in a
// temp dir; mod adjusts the configuration (nil for none). The agent shuts
// down at the end of the test, stopping its tasks and unmounting their
// directories.
func StartLiveAgent(t testing.TB, mod func(*agent.Config)) *LiveAgent {
	t.Helper()
	cfg := agent.DevConfig()
	cfg.DataDir = t.TempDir()
	cfg.Ports = agent.Ports{}
	cfg.NodeName = "node-" + structs.GenerateUUID()[:8]
	cfg.Server.NumSchedulers = 1
	cfg.Client.Executor = executortest.Binary()
	cfg.Limits.JobParser = sandboxtest.Binary()
	// No bridge: these agents do not need one, and the host would keep the
	// default bridge and chains (networking tests name their own).
	cfg.Client.DisableBridge = true
	if mod != nil {
		mod(cfg)
	}
	// Registered first, so it runs after the agent's own cleanup.
	testutil.CleanupMounts(t, cfg.DataDir)
	a, err := agent.New(cfg, testutil.Logger(t))
	if err != nil {
		t.Fatalf("start agent: %v", err)
	}
	t.Cleanup(func() { _ = a.Shutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	if err := a.WaitReady(ctx); err != nil {
		t.Fatalf("agent not ready: %v", err)
	}
	scheme := "http"
	if cfg.TLS.HTTP {
		scheme = "https"
	}
	return &LiveAgent{Agent: a, URL: scheme + "://" + a.HTTPAddr(), DataDir: cfg.DataDir}
}

// Client returns an api client for the agent.
func (l *LiveAgent) Client(t testing.TB) *api.Client {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: l.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// RunJob registers the job in src (HCL) and waits until one of its
// allocations has every task in state want ("running", or "dead" for batch
// jobs); it returns that allocation.
func (l *LiveAgent) RunJob(t testing.TB, src string, want structs.TaskStateName) *api.Allocation {
	t.Helper()
	job, err := jobspec.Parse("job.hcl", []byte(src), jobspec.ParseOptions{})
	if err != nil {
		t.Fatalf("parse job: %v", err)
	}
	c := l.Client(t)
	if _, _, err := c.Jobs().Register(job, nil, nil); err != nil {
		t.Fatalf("register job: %v", err)
	}
	return l.WaitAlloc(t, job.ID, func(a *api.Allocation) error { return tasksIn(a, want) })
}

// WaitAlloc waits until an allocation of the job satisfies cond.
func (l *LiveAgent) WaitAlloc(t testing.TB, jobID string, cond func(*api.Allocation) error) *api.Allocation {
	t.Helper()
	c := l.Client(t)
	var got *api.Allocation
	testutil.WaitFor(t, Wait, func() error {
		stubs, _, err := c.Jobs().Allocations(jobID, true, nil)
		if err != nil {
			return err
		}
		if len(stubs) == 0 {
			return fmt.Errorf("job %s has no allocations yet", jobID)
		}
		var last error
		for _, s := range stubs {
			a, _, err := c.Allocations().Info(s.ID, nil)
			if err != nil {
				return err
			}
			if last = cond(a); last == nil {
				got = a
				return nil
			}
		}
		return last
	})
	return got
}

func tasksIn(a *api.Allocation, want structs.TaskStateName) error {
	tg := a.LookupTaskGroup()
	if tg == nil || len(a.TaskStates) < len(tg.Tasks) {
		return fmt.Errorf("alloc %s: tasks not all reported yet", a.ID)
	}
	for name, st := range a.TaskStates {
		if st.State != want {
			return fmt.Errorf("alloc %s: task %s is %s, want %s", a.ID, name, st.State, want)
		}
	}
	return nil
}
