package server

import (
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

// watchClientAllocs starts a blocking Node.GetClientAllocs from minIndex.
func watchClientAllocs(s *Server, node *structs.Node, minIndex uint64) <-chan *structs.NodeClientAllocsResponse {
	out := make(chan *structs.NodeClientAllocsResponse, 1)
	go func() {
		req := &structs.NodeSpecificRequest{NodeID: node.ID, SecretID: node.SecretID,
			QueryOptions: structs.QueryOptions{MinQueryIndex: minIndex, MaxQueryTime: waitLong}}
		var reply structs.NodeClientAllocsResponse
		if err := s.RPC(structs.MethodNodeGetClientAllocs, req, &reply); err != nil {
			reply.Allocs = nil
		}
		out <- &reply
	}()
	return out
}

// onNode pins a job to one node.
func onNode(job *structs.Job, node *structs.Node) *structs.Job {
	job.Constraints = append(job.Constraints, &structs.Constraint{LTarget: "${node.unique.id}", RTarget: node.ID, Operand: "="})
	return job
}

func TestGetClientAllocsOfAnIdleNodeIgnoresOtherNodes(t *testing.T) {
	s := testServer(t)
	idle, busy := registerNode(t, s), registerNode(t, s)
	var first structs.NodeClientAllocsResponse
	must(t, s.RPC(structs.MethodNodeGetClientAllocs, &structs.NodeSpecificRequest{NodeID: idle.ID, SecretID: idle.SecretID}, &first))
	watch := watchClientAllocs(s, idle, first.Index)

	registerJob(t, s, onNode(testJob("elsewhere", 2), busy))
	waitLiveAllocs(t, s, "elsewhere", 2)
	select {
	case r := <-watch:
		t.Fatalf("an idle node's watch woke for another node's allocations: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}

	registerJob(t, s, onNode(testJob("here", 1), idle))
	r := <-watch
	if len(r.Allocs) != 1 || r.Index <= first.Index {
		t.Fatalf("want the idle node's new allocation, got %+v", r)
	}
}

func TestGetClientAllocsAnswersWhenTheLastAllocationIsRemoved(t *testing.T) {
	s := testServer(t)
	node := registerNode(t, s)
	registerJob(t, s, testJob("web", 1))
	alloc := waitLiveAllocs(t, s, "web", 1)[0]
	var cur structs.NodeClientAllocsResponse
	must(t, s.RPC(structs.MethodNodeGetClientAllocs, &structs.NodeSpecificRequest{NodeID: node.ID, SecretID: node.SecretID}, &cur))
	watch := watchClientAllocs(s, node, cur.Index)

	_, _, err := s.raftApply(structs.EvalDeleteRequestType, &structs.EvalDeleteRequest{Allocs: []string{alloc.ID}})
	must(t, err)
	select {
	case r := <-watch:
		if len(r.Allocs) != 0 || r.Index <= cur.Index {
			t.Fatalf("want an empty set past index %d, got %+v", cur.Index, r)
		}
	case <-time.After(waitLong):
		t.Fatal("the watch did not answer when the node's allocations were removed")
	}
}

// The endpoints stamp the times the FSM stores (it reads no clock): a
// registering node's StatusUpdatedAt, and the ModifyTime of a client update
// that carries none.
func TestNodeEndpointsStampTimes(t *testing.T) {
	s := testServer(t)
	before := time.Now()
	node := registerNode(t, s)
	stored, _ := s.State().NodeByID(nil, node.ID)
	if stored.StatusUpdatedAt < before.Unix() || stored.Events[0].Timestamp.Unix() != stored.StatusUpdatedAt {
		t.Fatalf("registered at %d (event %v), want at least %d", stored.StatusUpdatedAt, stored.Events[0].Timestamp, before.Unix())
	}
	registerJob(t, s, testJob("web", 1))
	a := waitLiveAllocs(t, s, "web", 1)[0]
	if a.CreateTime < before.UnixNano() || a.ModifyTime < a.CreateTime {
		t.Fatalf("placed: create %d modify %d, want at least %d", a.CreateTime, a.ModifyTime, before.UnixNano())
	}
	update := &structs.AllocUpdateRequest{Alloc: []*structs.Allocation{{ID: a.ID, NodeID: a.NodeID, ClientStatus: structs.AllocClientStatusRunning}},
		WriteRequest: structs.WriteRequest{AuthToken: node.SecretID}}
	must(t, s.RPC(structs.MethodNodeUpdateAlloc, update, &structs.GenericResponse{}))
	if got, _ := s.State().AllocByID(nil, a.ID); got.ModifyTime <= a.ModifyTime {
		t.Fatalf("client update without a time: modify %d, want after %d", got.ModifyTime, a.ModifyTime)
	}
}

// nodeSecret is the SecretID of a registered node: what its client sends
// with its allocation reports.
func nodeSecret(t *testing.T, s *Server, nodeID string) string {
	t.Helper()
	n, err := s.State().NodeByID(nil, nodeID)
	if err != nil || n == nil {
		t.Fatalf("node %s: %v %v", nodeID, n, err)
	}
	return n.SecretID
}

// Only the node an allocation runs on may report on it: another node's
// secret, a task's guess or no token at all cannot mark it failed (a
// reschedule) or healthy (a canary promoted).
func TestUpdateAllocOnlyFromItsNode(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	registerNode(t, s)
	registerJob(t, s, testJob("web", 1))
	a := waitLiveAllocs(t, s, "web", 1)[0]
	var other string
	nodes, err := s.State().Nodes(nil, "")
	must(t, err)
	for _, n := range nodes {
		if n.ID != a.NodeID {
			other = n.SecretID
		}
	}
	healthy := true
	for name, token := range map[string]string{"no token": "", "another node's secret": other, "a guess": "not-a-secret"} {
		req := &structs.AllocUpdateRequest{Alloc: []*structs.Allocation{{ID: a.ID, NodeID: a.NodeID, ClientStatus: structs.AllocClientStatusFailed,
			DeploymentStatus: &structs.AllocDeploymentStatus{Healthy: &healthy}}}, WriteRequest: structs.WriteRequest{AuthToken: token}}
		if err := s.RPC(structs.MethodNodeUpdateAlloc, req, &structs.GenericResponse{}); err == nil || !strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: %v, want refused", name, err)
		}
	}
	if got, _ := s.State().AllocByID(nil, a.ID); got.ClientStatus == structs.AllocClientStatusFailed || got.DeploymentStatus != nil {
		t.Fatalf("a refused report changed the allocation: %s %+v", got.ClientStatus, got.DeploymentStatus)
	}
	req := &structs.AllocUpdateRequest{Alloc: []*structs.Allocation{{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning}},
		WriteRequest: structs.WriteRequest{AuthToken: nodeSecret(t, s, a.NodeID)}}
	must(t, s.RPC(structs.MethodNodeUpdateAlloc, req, &structs.GenericResponse{}))
	if got, _ := s.State().AllocByID(nil, a.ID); got.ClientStatus != structs.AllocClientStatusRunning {
		t.Fatalf("the node's own report was not stored: %s", got.ClientStatus)
	}
}
