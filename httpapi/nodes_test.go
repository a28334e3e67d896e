package httpapi_test

import (
	"strings"
	"testing"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func TestNodes(t *testing.T) {
	c := apitest.Start(t)
	node := c.RegisterNode(t)
	reg := register(t, c, apitest.Job("web", 1))

	stubs := decode[[]structs.NodeListStub](t, mustCall(t, c, 200, "GET", "/v1/nodes?prefix="+node.ID[:4], nil))
	if len(stubs) != 1 || stubs[0].ID != node.ID {
		t.Fatalf("node list = %+v", stubs)
	}
	r := mustCall(t, c, 200, "GET", "/v1/node/"+node.ID, nil)
	if strings.Contains(r.text(), node.SecretID) {
		t.Errorf("node response leaks the SecretID")
	}
	if got := decode[structs.Node](t, r); got.Name != node.Name || got.Status != structs.NodeStatusReady {
		t.Errorf("node = %+v", got)
	}
	allocs := decode[[]structs.Allocation](t, mustCall(t, c, 200, "GET", "/v1/node/"+node.ID+"/allocations", nil))
	if len(allocs) != 1 || allocs[0].JobID != "web" {
		t.Errorf("node allocations = %d", len(allocs))
	}

	alloc := decode[structs.Allocation](t, mustCall(t, c, 200, "GET", "/v1/allocation/"+allocs[0].ID, nil))
	if alloc.EvalID != reg.EvalID || alloc.Job == nil {
		t.Errorf("allocation = %+v", alloc)
	}
	evalAllocs := decode[[]structs.AllocListStub](t, mustCall(t, c, 200, "GET", "/v1/evaluation/"+reg.EvalID+"/allocations", nil))
	if len(evalAllocs) != 1 {
		t.Errorf("evaluation allocations = %d", len(evalAllocs))
	}
	if e := decode[structs.Evaluation](t, mustCall(t, c, 200, "GET", "/v1/evaluation/"+reg.EvalID, nil)); e.Status != structs.EvalStatusComplete {
		t.Errorf("evaluation status %q", e.Status)
	}
	if es := decode[[]structs.Evaluation](t, mustCall(t, c, 200, "GET", "/v1/evaluations?job=web", nil)); len(es) == 0 {
		t.Errorf("no evaluations listed for job web")
	}
	stop := decode[structs.AllocStopResponse](t, mustCall(t, c, 200, "PUT", "/v1/allocation/"+alloc.ID+"/stop", nil))
	c.WaitEval(t, stop.EvalID)

	testDrainAndEligibility(t, c, node.ID)
}

func testDrainAndEligibility(t *testing.T, c *apitest.Cluster, id string) {
	mustCall(t, c, 200, "PUT", "/v1/node/"+id+"/eligibility", map[string]any{"Eligibility": "ineligible"})
	if n, _ := c.Server.State().NodeByID(nil, id); n.SchedulingEligibility != structs.NodeSchedulingIneligible {
		t.Errorf("eligibility = %q after disabling", n.SchedulingEligibility)
	}
	mustCall(t, c, 200, "POST", "/v1/node/"+id+"/eligibility", map[string]any{"Eligibility": "eligible"})

	mustCall(t, c, 200, "PUT", "/v1/node/"+id+"/drain", map[string]any{"DrainSpec": map[string]any{"Deadline": 3600e9}})
	if n, _ := c.Server.State().NodeByID(nil, id); n.DrainStrategy == nil && n.LastDrain == nil {
		t.Errorf("node not draining after drain request")
	}
	mustCall(t, c, 200, "PUT", "/v1/node/"+id+"/drain", map[string]any{"DrainSpec": nil, "MarkEligible": true})
	testutil.WaitFor(t, apitest.Wait, func() error {
		n, _ := c.Server.State().NodeByID(nil, id)
		if n.DrainStrategy != nil || n.SchedulingEligibility != structs.NodeSchedulingEligible {
			return errString("node still draining or ineligible")
		}
		return nil
	})
	r := decode[structs.NodeUpdateResponse](t, mustCall(t, c, 200, "PUT", "/v1/node/"+id+"/evaluate", nil))
	if r.EvalIDs == nil {
		t.Errorf("node evaluate: EvalIDs is null")
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestStatusAgentOperator(t *testing.T) {
	c := apitest.Start(t)
	leader := decode[string](t, mustCall(t, c, 200, "GET", "/v1/status/leader", nil))
	if leader != c.Server.LocalAddr() {
		t.Errorf("leader %q, want %q", leader, c.Server.LocalAddr())
	}
	peers := decode[[]string](t, mustCall(t, c, 200, "GET", "/v1/status/peers", nil))
	if len(peers) != 1 || peers[0] != leader {
		t.Errorf("peers = %v", peers)
	}
	raft := decode[map[string]any](t, mustCall(t, c, 200, "GET", "/v1/operator/raft/configuration", nil))
	if servers, _ := raft["Servers"].([]any); len(servers) != 1 || servers[0].(map[string]any)["Leader"] != true {
		t.Errorf("raft configuration = %v", raft)
	}
	self := decode[map[string]any](t, mustCall(t, c, 200, "GET", "/v1/agent/self", nil))
	if _, ok := self["member"]; !ok {
		t.Errorf("agent/self has no member: %v", self)
	}
	members := decode[map[string]any](t, mustCall(t, c, 200, "GET", "/v1/agent/members", nil))
	if ms, _ := members["Members"].([]any); len(ms) != 1 {
		t.Errorf("agent/members = %v", members)
	}
	health := decode[map[string]any](t, mustCall(t, c, 200, "GET", "/v1/agent/health", nil))
	if s, _ := health["server"].(map[string]any); s["ok"] != true {
		t.Errorf("agent/health = %v", health)
	}
}
