package server

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func TestJobRevertStableEvaluate(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	registerJob(t, s, testJob("web", 1))
	registerJob(t, s, testJob("web", 2)) // version 1

	var stable structs.JobStabilityResponse
	must(t, s.RPC(structs.MethodJobStable, &structs.JobStabilityRequest{JobID: "web", JobVersion: 0, Stable: true}, &stable))
	if v, _ := s.State().JobByIDAndVersion(nil, "default", "web", 0); v == nil || !v.Stable {
		t.Fatal("version 0 not marked stable")
	}
	if err := s.RPC(structs.MethodJobStable, &structs.JobStabilityRequest{JobID: "web", JobVersion: 9, Stable: true}, &stable); ErrorCode(err) != 404 {
		t.Fatalf("stable of a missing version: %v", err)
	}

	var rev structs.JobRegisterResponse
	wrong := uint64(0)
	if err := s.RPC(structs.MethodJobRevert, &structs.JobRevertRequest{JobID: "web", JobVersion: 0, EnforcePriorVersion: &wrong}, &rev); ErrorCode(err) != 400 {
		t.Fatalf("revert enforcing the wrong prior version: %v", err)
	}
	if err := s.RPC(structs.MethodJobRevert, &structs.JobRevertRequest{JobID: "web", JobVersion: 1}, &rev); ErrorCode(err) != 400 {
		t.Fatalf("revert to the current version: %v", err)
	}
	prior := uint64(1)
	must(t, s.RPC(structs.MethodJobRevert, &structs.JobRevertRequest{JobID: "web", JobVersion: 0, EnforcePriorVersion: &prior}, &rev))
	job, _ := s.State().JobByID(nil, "default", "web")
	if job.Version != 2 || job.TaskGroups[0].Count != 1 || rev.EvalID == "" {
		t.Fatalf("after revert: version %d count %d reply %+v", job.Version, job.TaskGroups[0].Count, rev)
	}
	waitLiveAllocs(t, s, "web", 1)

	var ev structs.JobRegisterResponse
	must(t, s.RPC(structs.MethodJobEvaluate, &structs.JobEvaluateRequest{JobID: "web", EvalOptions: structs.EvalOptions{ForceReschedule: true}}, &ev))
	waitEvalStatus(t, s, ev.EvalID, structs.EvalStatusComplete)

	var evals structs.EvalListResponse
	must(t, s.RPC(structs.MethodEvalList, &structs.EvalListRequest{JobID: "web", Status: "complete"}, &evals))
	if len(evals.Evaluations) < 2 {
		t.Fatalf("Eval.List by job and status: %d", len(evals.Evaluations))
	}
	for _, e := range evals.Evaluations {
		if e.JobID != "web" || e.Status != structs.EvalStatusComplete {
			t.Fatalf("Eval.List returned %s/%s", e.JobID, e.Status)
		}
	}
	var evAllocs structs.EvalAllocationsResponse
	must(t, s.RPC(structs.MethodEvalAllocations, &structs.EvalSpecificRequest{EvalID: rev.EvalID}, &evAllocs))
	var jobEvals structs.JobEvaluationsResponse
	must(t, s.RPC(structs.MethodJobEvaluations, &structs.JobSpecificRequest{JobID: "web"}, &jobEvals))
	if len(jobEvals.Evaluations) < len(evals.Evaluations) {
		t.Fatalf("Job.Evaluations %d, Eval.List %d", len(jobEvals.Evaluations), len(evals.Evaluations))
	}
}

func TestAllocListAndGet(t *testing.T) {
	s := testServer(t)
	node := registerNode(t, s)
	registerJob(t, s, testJob("web", 2))
	allocs := waitLiveAllocs(t, s, "web", 2)

	var list structs.AllocListResponse
	must(t, s.RPC(structs.MethodAllocList, &structs.AllocListRequest{QueryOptions: structs.QueryOptions{Prefix: allocs[0].ID[:5]}}, &list))
	if len(list.Allocations) < 1 || list.Allocations[0].ID[:5] != allocs[0].ID[:5] {
		t.Fatalf("prefix list: %+v", list.Allocations)
	}
	must(t, s.RPC(structs.MethodAllocList, &structs.AllocListRequest{QueryOptions: structs.QueryOptions{Namespace: "other"}}, &list))
	if len(list.Allocations) != 0 {
		t.Fatalf("other namespace lists %d", len(list.Allocations))
	}
	must(t, s.RPC(structs.MethodAllocList, &structs.AllocListRequest{QueryOptions: structs.QueryOptions{Namespace: "*", PerPage: 1}}, &list))
	if len(list.Allocations) != 1 || list.NextToken == "" {
		t.Fatalf("paginated list: %d, token %q", len(list.Allocations), list.NextToken)
	}

	var get structs.AllocsGetResponse
	must(t, s.RPC(structs.MethodAllocGetAllocs, &structs.AllocsGetRequest{AllocIDs: []string{allocs[0].ID, allocs[1].ID, structs.GenerateUUID()}}, &get))
	if len(get.Allocs) != 2 || get.Allocs[0].Job == nil {
		t.Fatalf("GetAllocs: %d", len(get.Allocs))
	}
	var one structs.SingleAllocResponse
	must(t, s.RPC(structs.MethodAllocGetAlloc, &structs.AllocSpecificRequest{AllocID: structs.GenerateUUID()}, &one))
	if one.Alloc != nil || one.Index == 0 {
		t.Fatalf("missing alloc: %+v", one)
	}
	var nodeAllocs structs.NodeAllocsResponse
	must(t, s.RPC(structs.MethodNodeGetAllocs, &structs.NodeSpecificRequest{NodeID: node.ID}, &nodeAllocs))
	if len(nodeAllocs.Allocs) != 2 {
		t.Fatalf("Node.GetAllocs: %d", len(nodeAllocs.Allocs))
	}
}

func TestNodeEligibilityEvaluateDeregister(t *testing.T) {
	s := testServer(t)
	a := registerNode(t, s)
	b := registerNode(t, s)
	var elig structs.NodeEligibilityUpdateResponse
	must(t, s.RPC(structs.MethodNodeUpdateEligibility, &structs.NodeUpdateEligibilityRequest{NodeID: a.ID, Eligibility: structs.NodeSchedulingIneligible}, &elig))
	registerJob(t, s, testJob("web", 2))
	for _, al := range waitLiveAllocs(t, s, "web", 2) {
		if al.NodeID != b.ID {
			t.Fatalf("alloc placed on the ineligible node")
		}
	}
	if err := s.RPC(structs.MethodNodeUpdateEligibility, &structs.NodeUpdateEligibilityRequest{NodeID: a.ID, Eligibility: "maybe"}, &elig); ErrorCode(err) != 400 {
		t.Fatalf("bad eligibility: %v", err)
	}

	var ev structs.NodeUpdateResponse
	must(t, s.RPC(structs.MethodNodeEvaluate, &structs.NodeEvaluateRequest{NodeID: b.ID}, &ev))
	if len(ev.EvalIDs) != 1 {
		t.Fatalf("Node.Evaluate created %d evals", len(ev.EvalIDs))
	}

	var list structs.NodeListResponse
	must(t, s.RPC(structs.MethodNodeList, &structs.NodeListRequest{QueryOptions: structs.QueryOptions{Filter: `SchedulingEligibility == "ineligible"`}}, &list))
	if len(list.Nodes) != 1 || list.Nodes[0].ID != a.ID {
		t.Fatalf("filtered node list: %+v", list.Nodes)
	}

	// Removing the node with the work makes the scheduler replace it on a,
	// once a is eligible again.
	must(t, s.RPC(structs.MethodNodeUpdateEligibility, &structs.NodeUpdateEligibilityRequest{NodeID: a.ID, Eligibility: structs.NodeSchedulingEligible}, &elig))
	must(t, s.RPC(structs.MethodNodeDeregister, &structs.NodeDeregisterRequest{NodeIDs: []string{b.ID}}, &structs.GenericResponse{}))
	testutil.WaitFor(t, waitLong, func() error {
		live := liveAllocs(s, "web")
		onA := 0
		for _, al := range live {
			if al.NodeID == a.ID {
				onA++
			}
		}
		if onA != 2 {
			return fmt.Errorf("%d of %d live allocs on the remaining node", onA, len(live))
		}
		return nil
	})
	var got structs.SingleNodeResponse
	must(t, s.RPC(structs.MethodNodeGetNode, &structs.NodeSpecificRequest{NodeID: b.ID}, &got))
	if got.Node != nil {
		t.Fatal("deregistered node still returned")
	}
}

func TestServiceRegistrationEndpoints(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	must(t, s.RPC(structs.MethodNamespaceUpsert, &structs.NamespaceUpsertRequest{Namespaces: []*structs.Namespace{{Name: "prod"}}}, &structs.GenericResponse{}))
	registerJob(t, s, withServices(testJob("j", 2), "web"))
	db := withServices(testJob("k", 1), "db")
	db.Namespace = "prod"
	registerJob(t, s, db)
	web := waitLiveAllocs(t, s, "j", 2)
	var dbAlloc *structs.Allocation
	testutil.WaitFor(t, waitLong, func() error {
		all, _ := s.State().AllocsByJob(nil, "prod", "k", false)
		if len(all) != 1 {
			return fmt.Errorf("%d allocations of prod/k", len(all))
		}
		dbAlloc = all[0]
		return nil
	})
	regs := []*structs.ServiceRegistration{
		{ID: "_nomad-task-1-web-http", ServiceName: "web", Namespace: "default", JobID: "j", AllocID: web[0].ID, NodeID: web[0].NodeID, Tags: []string{"b", "a"}, Address: "10.0.0.1", Port: 8080},
		{ID: "_nomad-task-2-web-http", ServiceName: "web", Namespace: "default", JobID: "j", AllocID: web[1].ID, NodeID: web[1].NodeID, Tags: []string{"c"}, Address: "10.0.0.2", Port: 8080},
		{ID: "_nomad-task-3-db", ServiceName: "db", Namespace: "prod", JobID: "k", AllocID: dbAlloc.ID, NodeID: dbAlloc.NodeID, Address: "10.0.0.3", Port: 5432},
	}
	must(t, upsertServices(t, s, regs...))

	var list structs.ServiceRegistrationListResponse
	must(t, s.RPC(structs.MethodServiceRegistrationList, &structs.ServiceRegistrationListRequest{QueryOptions: structs.QueryOptions{Namespace: "*"}}, &list))
	if len(list.Services) != 2 || list.Services[0].Namespace != "default" || list.Services[0].Services[0].ServiceName != "web" {
		t.Fatalf("list: %+v", list.Services)
	}
	if tags := list.Services[0].Services[0].Tags; fmt.Sprint(tags) != "[a b c]" {
		t.Fatalf("tag union: %v", tags)
	}
	var byName structs.ServiceRegistrationByNameResponse
	must(t, s.RPC(structs.MethodServiceRegistrationGetService, &structs.ServiceRegistrationByNameRequest{ServiceName: "web"}, &byName))
	if len(byName.Services) != 2 {
		t.Fatalf("instances of web: %d", len(byName.Services))
	}
	must(t, s.RPC(structs.MethodServiceRegistrationDelete, &structs.ServiceRegistrationDeleteRequest{AllocIDs: []string{web[0].ID},
		WriteRequest: structs.WriteRequest{AuthToken: nodeSecret(t, s, web[0].NodeID)}}, &structs.GenericResponse{}))
	must(t, s.RPC(structs.MethodServiceRegistrationGetService, &structs.ServiceRegistrationByNameRequest{ServiceName: "web"}, &byName))
	if len(byName.Services) != 1 {
		t.Fatalf("after delete: %d", len(byName.Services))
	}
	must(t, s.RPC(structs.MethodServiceRegistrationGetService, &structs.ServiceRegistrationByNameRequest{ServiceName: "nope"}, &byName))
	if byName.Services == nil || len(byName.Services) != 0 {
		t.Fatalf("unknown service must be an empty list: %v", byName.Services)
	}
}

func TestJobValidateEndpoint(t *testing.T) {
	s := testServer(t)
	var reply structs.JobValidateResponse
	must(t, s.RPC(structs.MethodJobValidate, &structs.JobValidateRequest{Job: &structs.Job{ID: "x"}}, &reply))
	if len(reply.ValidationErrors) == 0 || reply.Error == "" {
		t.Fatalf("invalid job validated: %+v", reply)
	}
	var ok structs.JobValidateResponse
	must(t, s.RPC(structs.MethodJobValidate, &structs.JobValidateRequest{Job: testJob("ok", 1)}, &ok))
	if len(ok.ValidationErrors) != 0 {
		t.Fatalf("valid job: %+v", ok)
	}
}

func TestHeartbeatOfUnknownNodeAsksToRegister(t *testing.T) {
	s := testServer(t)
	err := s.RPC(structs.MethodNodeUpdateStatus, &structs.NodeUpdateStatusRequest{NodeID: structs.GenerateUUID(), Status: structs.NodeStatusReady}, &structs.NodeUpdateResponse{})
	// Clients match on the message when the error crossed the wire.
	if ErrorCode(err) != 404 || !strings.Contains(err.Error(), "node not found") {
		t.Fatalf("heartbeat of an unknown node: %v", err)
	}
	node := registerNode(t, s)
	node.SecretID = "stolen"
	err = s.RPC(structs.MethodNodeRegister, &structs.NodeRegisterRequest{Node: node}, &structs.NodeUpdateResponse{})
	if ErrorCode(err) != 403 {
		t.Fatalf("re-register with another secret: %v", err)
	}
}

// TestServiceHealthUpdates: check status changes reach the catalog, the
// table index moves only when health changed (so blocking readers are not
// woken by repeated results), a re-registration keeps the reported health,
// and bad values are refused.
func TestServiceHealthUpdates(t *testing.T) {
	s := testServer(t)
	node := registerNode(t, s)
	registerJob(t, s, withServices(testJob("j", 1), "web"))
	a1 := waitLiveAllocs(t, s, "j", 1)[0]
	checks := func(st structs.HealthStatus, out string) []*structs.ServiceCheckStatus {
		return []*structs.ServiceCheckStatus{{ID: "r1-alive", Name: "alive", Type: structs.CheckTypeHTTP, Status: st, Output: out}}
	}
	reg := &structs.ServiceRegistration{ID: "r1", ServiceName: "web", Namespace: "default", JobID: "j", AllocID: a1.ID, NodeID: node.ID, Address: "10.0.0.1", Port: 8080,
		Health: structs.HealthCritical, Checks: checks(structs.HealthCritical, "")}
	must(t, upsertServices(t, s, reg))
	update := func(h structs.HealthStatus, c []*structs.ServiceCheckStatus) error {
		return s.RPC(structs.MethodServiceRegistrationUpdateHealth, &structs.ServiceRegistrationUpdateHealthRequest{
			Updates:      []*structs.ServiceHealthUpdate{{ID: "r1", Health: h, Checks: c}, {ID: "gone", Checks: c}},
			WriteRequest: structs.WriteRequest{AuthToken: node.SecretID},
		}, &structs.GenericResponse{})
	}
	get := func() *structs.ServiceRegistration {
		r, err := s.State().ServiceRegistrationByID(nil, "r1")
		must(t, err)
		return r
	}
	must(t, update("", checks(structs.HealthPassing, "HTTP 200")))
	if r := get(); r.Health != structs.HealthPassing || r.Checks[0].Output != "HTTP 200" {
		t.Fatalf("after a passing result: %s %+v", r.Health, r.Checks[0])
	}
	idx := s.State().ServicesIndex(nil)
	must(t, update(structs.HealthPassing, checks(structs.HealthPassing, "HTTP 200")))
	if got := s.State().ServicesIndex(nil); got != idx {
		t.Fatalf("an unchanged result moved the services index %d → %d", idx, got)
	}
	// The client re-registers (a restart): health stays what was reported.
	must(t, upsertServices(t, s, reg))
	if r := get(); r.Health != structs.HealthPassing {
		t.Fatalf("re-registration reset health to %s", r.Health)
	}
	must(t, update("", checks(structs.HealthWarning, "HTTP 429")))
	if r := get(); r.Health != structs.HealthWarning || s.State().ServicesIndex(nil) == idx {
		t.Fatalf("warning result: health %s, index %d (was %d)", r.Health, s.State().ServicesIndex(nil), idx)
	}
	if err := update("sick", nil); !errors.Is(err, structs.ErrBadRequest) {
		t.Fatalf("unknown health value: %v", err)
	}
	if err := update("", checks("meh", "")); !errors.Is(err, structs.ErrBadRequest) {
		t.Fatalf("unknown check status: %v", err)
	}
}

// TestServiceRegistrationsEndWithTheirAllocation: the servers remove an
// instance when its allocation ends (failed, complete, lost) or its node
// goes down, even if its client never deregisters it, and a late
// re-registration does not bring it back.
func TestServiceRegistrationsEndWithTheirAllocation(t *testing.T) {
	s := testServer(t)
	n1 := registerNode(t, s)
	registerJob(t, s, withServices(testJob("web", 2), "web"))
	web := waitLiveAllocs(t, s, "web", 2)
	clientUpdate(t, s, structs.AllocClientStatusRunning, web...)
	reg := func(a *structs.Allocation) *structs.ServiceRegistration {
		return &structs.ServiceRegistration{ID: "_nomad-task-" + a.ID + "-web-web-http", ServiceName: "web", Namespace: "default",
			JobID: "web", AllocID: a.ID, NodeID: a.NodeID, Address: "10.0.0.1", Port: 8080}
	}
	upsert := func(regs ...*structs.ServiceRegistration) { must(t, upsertServices(t, s, regs...)) }
	live := func() []string {
		regs, err := s.State().ServiceRegistrationsByName(nil, "default", "web")
		must(t, err)
		var out []string
		for _, r := range regs {
			out = append(out, r.AllocID)
		}
		return out
	}
	upsert(reg(web[0]), reg(web[1]))
	if got := live(); len(got) != 2 {
		t.Fatalf("registered: %v", got)
	}
	clientUpdate(t, s, structs.AllocClientStatusFailed, web[0])
	if got := live(); len(got) != 1 || got[0] != web[1].ID {
		t.Fatalf("after %s failed: %v", web[0].ID, got)
	}
	upsert(reg(web[0]))
	if got := live(); len(got) != 1 {
		t.Fatalf("a late registration of a failed allocation came back: %v", got)
	}
	var reply structs.NodeUpdateResponse
	must(t, s.RPC(structs.MethodNodeUpdateStatus, &structs.NodeUpdateStatusRequest{NodeID: n1.ID, Status: structs.NodeStatusDown}, &reply))
	if got := live(); len(got) != 0 {
		t.Fatalf("instances on a down node: %v", got)
	}
}
