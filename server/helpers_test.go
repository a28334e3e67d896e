package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// waitLong bounds waits for the cluster to converge in tests.
const waitLong = 10 * time.Second

// testConfig is a server on 127.0.0.1:0 with its data in a temp dir, the
// real schedulers, and timings short enough for tests.
func testConfig(t *testing.T) Config {
	return Config{
		DataDir:                 t.TempDir(),
		NodeName:                "test",
		RPCAddr:                 "127.0.0.1:0",
		NumSchedulers:           2,
		Logger:                  testutil.Logger(t),
		AllocUpdateBatchWindow:  5 * time.Millisecond,
		EvalNackInitialDelay:    time.Millisecond,
		EvalNackSubsequentDelay: time.Millisecond,
	}
}

// startServer starts a server and waits until it leads.
func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { s.Shutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := s.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func testServer(t *testing.T, mod ...func(*Config)) *Server {
	t.Helper()
	cfg := testConfig(t)
	for _, m := range mod {
		m(&cfg)
	}
	return startServer(t, cfg)
}

// registerNode registers a mock node (ready) and returns it.
func registerNode(t *testing.T, s *Server, mod ...func(*structs.Node)) *structs.Node {
	t.Helper()
	node := schedtest.MockNode()
	node.SecretID = structs.GenerateUUID()
	for _, m := range mod {
		m(node)
	}
	var reply structs.NodeUpdateResponse
	if err := s.RPC(structs.MethodNodeRegister, &structs.NodeRegisterRequest{Node: node}, &reply); err != nil {
		t.Fatalf("register node: %v", err)
	}
	if reply.HeartbeatTTL <= 0 {
		t.Fatalf("register node: no heartbeat TTL in %+v", reply)
	}
	return node
}

// testJob is a small service job: count groups of one raw_exec task.
func testJob(id string, count int) *structs.Job {
	job := schedtest.MockJob()
	job.ID, job.Name = id, id
	job.TaskGroups[0].Count = count
	job.TaskGroups[0].Tasks[0].Driver = "raw_exec"
	job.TaskGroups[0].Tasks[0].Config = map[string]any{"command": "/bin/sleep", "args": []any{"600"}}
	return job
}

func registerJob(t *testing.T, s *Server, job *structs.Job) *structs.JobRegisterResponse {
	t.Helper()
	var reply structs.JobRegisterResponse
	if err := s.RPC(structs.MethodJobRegister, &structs.JobRegisterRequest{Job: job}, &reply); err != nil {
		t.Fatalf("register job %s: %v", job.ID, err)
	}
	return &reply
}

// liveAllocs returns the job's allocations that are not terminal.
func liveAllocs(s *Server, jobID string) []*structs.Allocation {
	all, _ := s.State().AllocsByJob(nil, structs.DefaultNamespace, jobID, false)
	var out []*structs.Allocation
	for _, a := range all {
		if !a.TerminalStatus() {
			out = append(out, a)
		}
	}
	return out
}

// waitLiveAllocs waits until the job has exactly n live allocations.
func waitLiveAllocs(t *testing.T, s *Server, jobID string, n int) []*structs.Allocation {
	t.Helper()
	var out []*structs.Allocation
	testutil.WaitFor(t, waitLong, func() error {
		out = liveAllocs(s, jobID)
		if len(out) != n {
			return fmt.Errorf("job %s has %d live allocations, want %d", jobID, len(out), n)
		}
		return nil
	})
	return out
}

// waitEvalStatus waits until an evaluation reaches status.
func waitEvalStatus(t *testing.T, s *Server, evalID string, status structs.EvalStatus) *structs.Evaluation {
	t.Helper()
	var eval *structs.Evaluation
	testutil.WaitFor(t, waitLong, func() error {
		eval, _ = s.State().EvalByID(nil, evalID)
		if eval == nil || eval.Status != status {
			return fmt.Errorf("evaluation %s is %v, want %s", evalID, evalStatus(eval), status)
		}
		return nil
	})
	return eval
}

func evalStatus(e *structs.Evaluation) string {
	if e == nil {
		return "missing"
	}
	return string(e.Status) + " (" + e.StatusDescription + ")"
}

// heartbeat keeps a node alive as a client would, until the test ends.
func heartbeat(t *testing.T, s *Server, nodeID string, every time.Duration) {
	ctx := testutil.Context(t)
	go func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				var reply structs.NodeUpdateResponse
				_ = s.RPC(structs.MethodNodeUpdateStatus, &structs.NodeUpdateStatusRequest{NodeID: nodeID, Status: structs.NodeStatusReady}, &reply)
			}
		}
	}()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// withServices declares group services of these names (provider nomad) in
// the job's group, so that its allocations may register them.
func withServices(job *structs.Job, names ...string) *structs.Job {
	for _, n := range names {
		job.TaskGroups[0].Services = append(job.TaskGroups[0].Services, &structs.Service{Name: n, Provider: structs.ServiceProviderNomad})
	}
	return job
}

// upsertServices registers regs as their nodes' clients do: one request
// per node, authenticated with its SecretID.
func upsertServices(t *testing.T, s *Server, regs ...*structs.ServiceRegistration) error {
	t.Helper()
	byNode := map[string][]*structs.ServiceRegistration{}
	var order []string
	for _, r := range regs {
		if byNode[r.NodeID] == nil {
			order = append(order, r.NodeID)
		}
		byNode[r.NodeID] = append(byNode[r.NodeID], r)
	}
	for _, n := range order {
		req := &structs.ServiceRegistrationUpsertRequest{Services: byNode[n], WriteRequest: structs.WriteRequest{AuthToken: nodeSecret(t, s, n)}}
		if err := s.RPC(structs.MethodServiceRegistrationUpsert, req, &structs.GenericResponse{}); err != nil {
			return err
		}
	}
	return nil
}
