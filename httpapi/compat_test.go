package httpapi_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/testutil"
)

// Compatibility with Nomad's own Go client: every call below decodes roam's
// responses into Nomad's types, so a field whose JSON type differs, a
// missing header or a wrong status breaks it.

func nomadClient(t *testing.T, c *apitest.Cluster) *nomadapi.Client {
	t.Helper()
	cfg := nomadapi.DefaultConfig()
	cfg.Address = c.URL
	nc, err := nomadapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

func nomadJob(id string, count int) *nomadapi.Job {
	job := nomadapi.NewServiceJob(id, id, "global", 50)
	job.Datacenters = []string{"dc1"}
	task := nomadapi.NewTask("server", "raw_exec").
		SetConfig("command", "/bin/sleep").SetConfig("args", []string{"600"}).
		Require(&nomadapi.Resources{CPU: ptr(100), MemoryMB: ptr(64)})
	task.Env = map[string]string{"GREETING": "hello"}
	tg := nomadapi.NewTaskGroup("web", count).AddTask(task)
	tg.Networks = []*nomadapi.NetworkResource{{DynamicPorts: []nomadapi.Port{{Label: "http"}}}}
	tg.Services = []*nomadapi.Service{{Name: "web", PortLabel: "http", Provider: "nomad"}}
	return job.AddTaskGroup(tg)
}

func ptr[T any](v T) *T { return &v }

func TestNomadGoClientCompatibility(t *testing.T) {
	c := apitest.Start(t)
	node := c.RegisterNode(t)
	nc := nomadClient(t, c)
	jobs := nc.Jobs()

	resp, wm, err := jobs.Register(nomadJob("compat", 1), nil)
	if err != nil {
		t.Fatalf("Jobs().Register: %v", err)
	}
	if resp.EvalID == "" || wm.LastIndex == 0 {
		t.Fatalf("register response %+v, write meta %+v", resp, wm)
	}
	waitNomadEval(t, nc, resp.EvalID)

	list, qm, err := jobs.List(nil)
	if err != nil || len(list) != 1 || list[0].ID != "compat" || qm.LastIndex == 0 || !qm.KnownLeader {
		t.Fatalf("Jobs().List = %+v, %+v, %v", list, qm, err)
	}
	job, _, err := jobs.Info("compat", nil)
	if err != nil || *job.Name != "compat" || *job.TaskGroups[0].Count != 1 || job.TaskGroups[0].Tasks[0].Env["GREETING"] != "hello" {
		t.Fatalf("Jobs().Info = %+v, %v", job, err)
	}
	sum, _, err := jobs.Summary("compat", nil)
	if err != nil || sum.JobID != "compat" {
		t.Fatalf("Jobs().Summary = %+v, %v", sum, err)
	}
	testNomadAllocs(t, nc, node.ID)
	testNomadNodes(t, nc, node.ID)
	testNomadBlocking(t, nc)
	testNomadJobOps(t, nc)
	testNomadAgent(t, nc, c.Server.LocalAddr())
	testNomadPlacementFailure(t, nc)

	evalID, _, err := jobs.Deregister("compat", true, nil)
	if err != nil || evalID == "" {
		t.Fatalf("Jobs().Deregister = %q, %v", evalID, err)
	}
	_, _, err = jobs.Info("compat", nil)
	var ue nomadapi.UnexpectedResponseError
	if !errors.As(err, &ue) || ue.StatusCode() != 404 {
		t.Errorf("Jobs().Info after purge: %v, want a 404", err)
	}
}

func waitNomadEval(t *testing.T, nc *nomadapi.Client, id string) *nomadapi.Evaluation {
	t.Helper()
	var eval *nomadapi.Evaluation
	testutil.WaitFor(t, apitest.Wait, func() error {
		e, _, err := nc.Evaluations().Info(id, nil)
		if err != nil {
			return err
		}
		if e.Status != "complete" {
			return fmt.Errorf("evaluation %s is %q", id, e.Status)
		}
		eval = e
		return nil
	})
	return eval
}

func testNomadAllocs(t *testing.T, nc *nomadapi.Client, nodeID string) {
	stubs, _, err := nc.Jobs().Allocations("compat", false, nil)
	if err != nil || len(stubs) != 1 || stubs[0].NodeID != nodeID {
		t.Fatalf("Jobs().Allocations = %+v, %v", stubs, err)
	}
	if stubs[0].AllocatedResources != nil {
		t.Errorf("Jobs().Allocations carries AllocatedResources %+v: Nomad's list of a job's allocations leaves them to the allocation's own read", stubs[0].AllocatedResources)
	}
	alloc, _, err := nc.Allocations().Info(stubs[0].ID, nil)
	if err != nil || alloc.JobID != "compat" || alloc.Job == nil || *alloc.Job.ID != "compat" {
		t.Fatalf("Allocations().Info = %+v, %v", alloc, err)
	}
	if alloc.AllocatedResources == nil || len(alloc.AllocatedResources.Shared.Ports) != 1 {
		t.Errorf("allocation has no allocated port: %+v", alloc.AllocatedResources)
	}
	all, _, err := nc.Allocations().List(nil)
	if err != nil || len(all) != 1 {
		t.Fatalf("Allocations().List = %d, %v", len(all), err)
	}
	evals, _, err := nc.Jobs().Evaluations("compat", nil)
	if err != nil || len(evals) == 0 {
		t.Fatalf("Jobs().Evaluations = %+v, %v", evals, err)
	}
	if _, _, err := nc.Evaluations().List(nil); err != nil {
		t.Fatalf("Evaluations().List: %v", err)
	}
	if _, _, err := nc.Evaluations().Allocations(evals[0].ID, nil); err != nil {
		t.Fatalf("Evaluations().Allocations: %v", err)
	}
}

func testNomadNodes(t *testing.T, nc *nomadapi.Client, id string) {
	nodes, _, err := nc.Nodes().List(nil)
	if err != nil || len(nodes) != 1 || nodes[0].ID != id {
		t.Fatalf("Nodes().List = %+v, %v", nodes, err)
	}
	node, _, err := nc.Nodes().Info(id, nil)
	if err != nil || node.ID != id || node.NodeResources == nil || node.NodeResources.Cpu.CpuShares == 0 {
		t.Fatalf("Nodes().Info = %+v, %v", node, err)
	}
	allocs, _, err := nc.Nodes().Allocations(id, nil)
	if err != nil || len(allocs) != 1 {
		t.Fatalf("Nodes().Allocations = %d, %v", len(allocs), err)
	}
	if _, err := nc.Nodes().ToggleEligibility(id, false, nil); err != nil {
		t.Fatalf("Nodes().ToggleEligibility: %v", err)
	}
	if _, err := nc.Nodes().ToggleEligibility(id, true, nil); err != nil {
		t.Fatalf("Nodes().ToggleEligibility: %v", err)
	}
	if _, err := nc.Nodes().UpdateDrain(id, &nomadapi.DrainSpec{Deadline: time.Hour}, false, nil); err != nil {
		t.Fatalf("Nodes().UpdateDrain enable: %v", err)
	}
	if _, err := nc.Nodes().UpdateDrain(id, nil, true, nil); err != nil {
		t.Fatalf("Nodes().UpdateDrain disable: %v", err)
	}
}

// testNomadBlocking runs a blocking list with WaitIndex and makes it return
// by registering a second job.
func testNomadBlocking(t *testing.T, nc *nomadapi.Client) {
	_, qm, err := nc.Jobs().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		qm  *nomadapi.QueryMeta
		err error
	}
	done := make(chan result, 1)
	// A blocking query may return on an unrelated change to the jobs table
	// (a status update); like any client, re-query from the new index.
	go func() {
		index := qm.LastIndex
		for {
			l, m, err := nc.Jobs().List(&nomadapi.QueryOptions{WaitIndex: index, WaitTime: 20 * time.Second})
			if err != nil || len(l) == 2 || m.LastIndex <= index {
				done <- result{len(l), m, err}
				return
			}
			index = m.LastIndex
		}
	}()
	resp, _, err := nc.Jobs().Register(nomadJob("second", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.n != 2 || r.qm.LastIndex <= qm.LastIndex {
			t.Errorf("blocking Jobs().List = %d jobs, %+v, %v", r.n, r.qm, r.err)
		}
	case <-time.After(apitest.Wait):
		t.Fatal("blocking Jobs().List did not return after a registration")
	}
	waitNomadEval(t, nc, resp.EvalID)
	if _, _, err := nc.Jobs().Deregister("second", true, nil); err != nil {
		t.Fatal(err)
	}
}

func testNomadJobOps(t *testing.T, nc *nomadapi.Client) {
	jobs := nc.Jobs()
	changed := nomadJob("compat", 2)
	plan, _, err := jobs.Plan(changed, true, nil)
	if err != nil || plan.Diff == nil || plan.Annotations == nil {
		t.Fatalf("Jobs().Plan = %+v, %v", plan, err)
	}
	if u := plan.Annotations.DesiredTGUpdates["web"]; u == nil || u.Place != 1 {
		t.Errorf("plan annotations for web = %+v, want 1 place", u)
	}
	val, _, err := jobs.Validate(changed, nil)
	if err != nil || len(val.ValidationErrors) != 0 {
		t.Fatalf("Jobs().Validate = %+v, %v", val, err)
	}
	resp, _, err := jobs.Register(changed, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitNomadEval(t, nc, resp.EvalID)
	versions, diffs, _, err := jobs.Versions("compat", true, nil)
	if err != nil || len(versions) != 2 || len(diffs) != 1 {
		t.Fatalf("Jobs().Versions = %d versions, %d diffs, %v", len(versions), len(diffs), err)
	}
	parsed, err := jobs.ParseHCL("job \"p\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"raw_exec\"\n    }\n  }\n}\n", true)
	if err != nil || *parsed.ID != "p" {
		t.Fatalf("Jobs().ParseHCL = %+v, %v", parsed, err)
	}
	if _, _, err := jobs.Revert("compat", 0, nil, nil, "", ""); err != nil {
		t.Fatalf("Jobs().Revert: %v", err)
	}
	if _, _, err := jobs.ForceEvaluate("compat", nil); err != nil {
		t.Fatalf("Jobs().ForceEvaluate: %v", err)
	}
	allocs, _, err := jobs.Allocations("compat", false, nil)
	if err != nil || len(allocs) == 0 {
		t.Fatalf("Jobs().Allocations: %v", err)
	}
	stop, err := nc.Allocations().Stop(&nomadapi.Allocation{ID: allocs[0].ID}, nil)
	if err != nil || stop.EvalID == "" {
		t.Fatalf("Allocations().Stop = %+v, %v", stop, err)
	}
}

func testNomadAgent(t *testing.T, nc *nomadapi.Client, leaderAddr string) {
	leader, err := nc.Status().Leader()
	if err != nil || leader != leaderAddr {
		t.Errorf("Status().Leader = %q, %v", leader, err)
	}
	if peers, err := nc.Status().Peers(); err != nil || len(peers) != 1 {
		t.Errorf("Status().Peers = %v, %v", peers, err)
	}
	self, err := nc.Agent().Self()
	if err != nil || !strings.HasPrefix(self.Member.Name, "test") {
		t.Errorf("Agent().Self = %+v, %v", self, err)
	}
	if m, err := nc.Agent().Members(); err != nil || len(m.Members) != 1 {
		t.Errorf("Agent().Members = %+v, %v", m, err)
	}
	if h, err := nc.Agent().Health(); err != nil || h.Server == nil || !h.Server.Ok {
		t.Errorf("Agent().Health = %+v, %v", h, err)
	}
	if rc, err := nc.Operator().RaftGetConfiguration(nil); err != nil || len(rc.Servers) != 1 || !rc.Servers[0].Leader {
		t.Errorf("Operator().RaftGetConfiguration = %+v, %v", rc, err)
	}
}

// testNomadPlacementFailure reads an evaluation's placement metrics into
// Nomad's AllocationMetric.
func testNomadPlacementFailure(t *testing.T, nc *nomadapi.Client) {
	job := nomadJob("windows", 1)
	job.Constrain(nomadapi.NewConstraint("${attr.kernel.name}", "=", "windows"))
	resp, _, err := nc.Jobs().Register(job, nil)
	if err != nil {
		t.Fatal(err)
	}
	eval := waitNomadEval(t, nc, resp.EvalID)
	m := eval.FailedTGAllocs["web"]
	if m == nil || m.ConstraintFiltered["${attr.kernel.name} = windows"] != 1 || eval.BlockedEval == "" {
		t.Errorf("failed placement metrics = %+v, blocked eval %q", m, eval.BlockedEval)
	}
	stubs, _, err := nc.Jobs().PrefixList("win")
	if err != nil || len(stubs) != 1 || stubs[0].JobSummary.Summary["web"].Queued != 1 {
		t.Errorf("Jobs().PrefixList = %+v, %v", stubs, err)
	}
}
