package server

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func TestServerElectsItselfQuickly(t *testing.T) {
	cfg := testConfig(t)
	start := time.Now()
	s := startServer(t, cfg)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("single server took %v to lead", d)
	}
	if !s.IsLeader() || s.Leader() != s.LocalAddr() {
		t.Fatalf("leader %q, local %q, is leader %v", s.Leader(), s.LocalAddr(), s.IsLeader())
	}
	var leader string
	must(t, s.RPC(structs.MethodStatusLeader, &structs.GenericRequest{}, &leader))
	var peers []string
	must(t, s.RPC(structs.MethodStatusPeers, &structs.GenericRequest{}, &peers))
	if leader != s.LocalAddr() || !slices.Equal(peers, []string{s.LocalAddr()}) {
		t.Fatalf("Status.Leader %q, Status.Peers %v, want %s", leader, peers, s.LocalAddr())
	}
	m := s.Members()
	if len(m) != 1 || m[0].Status != "alive" || m[0].Name != "test.global" || m[0].Tags["role"] != "nomad" {
		t.Fatalf("members: %+v", m)
	}
}

func TestRegisterJobPlacesAllocations(t *testing.T) {
	s := testServer(t)
	n1, n2 := registerNode(t, s), registerNode(t, s)
	reply := registerJob(t, s, testJob("web", 3))
	if reply.EvalID == "" || reply.JobModifyIndex == 0 {
		t.Fatalf("register reply: %+v", reply)
	}
	waitEvalStatus(t, s, reply.EvalID, structs.EvalStatusComplete)
	allocs := waitLiveAllocs(t, s, "web", 3)
	for _, a := range allocs {
		if a.NodeID != n1.ID && a.NodeID != n2.ID {
			t.Fatalf("alloc %s on unknown node %s", a.ID, a.NodeID)
		}
		if a.Job == nil || a.AllocatedResources == nil || a.EvalID != reply.EvalID {
			t.Fatalf("alloc %s incomplete: %+v", a.ID, a)
		}
	}
	var jobReply structs.SingleJobResponse
	must(t, s.RPC(structs.MethodJobGetJob, &structs.JobSpecificRequest{JobID: "web"}, &jobReply))
	if jobReply.Job == nil || jobReply.Job.Status != structs.JobStatusRunning || jobReply.Index == 0 || !jobReply.KnownLeader {
		t.Fatalf("GetJob: %+v", jobReply)
	}
}

func TestClientUpdatesChangeSummaryAndStatus(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	job := testJob("batch", 2)
	job.Type = structs.JobTypeBatch
	job.Update = structs.UpdateStrategy{}
	job.TaskGroups[0].ReschedulePolicy = structs.DefaultReschedulePolicy(structs.JobTypeBatch)
	job.TaskGroups[0].RestartPolicy = structs.DefaultRestartPolicy(structs.JobTypeBatch)
	registerJob(t, s, job)
	allocs := waitLiveAllocs(t, s, "batch", 2)

	update := func(status structs.AllocClientStatus) {
		req := structs.AllocUpdateRequest{WriteRequest: structs.WriteRequest{AuthToken: nodeSecret(t, s, allocs[0].NodeID)}}
		for _, a := range allocs {
			req.Alloc = append(req.Alloc, &structs.Allocation{ID: a.ID, NodeID: a.NodeID, ClientStatus: status})
		}
		var reply structs.GenericResponse
		must(t, s.RPC(structs.MethodNodeUpdateAlloc, &req, &reply))
		if reply.Index == 0 {
			t.Fatal("UpdateAlloc returned no index")
		}
	}
	update(structs.AllocClientStatusRunning)
	sum, _ := s.State().JobSummaryByID(nil, "default", "batch")
	if got := sum.Summary["web"]; got.Running != 2 || got.Starting != 0 {
		t.Fatalf("summary after running: %+v", got)
	}
	update(structs.AllocClientStatusComplete)
	var sumReply structs.JobSummaryResponse
	must(t, s.RPC(structs.MethodJobSummary, &structs.JobSpecificRequest{JobID: "batch"}, &sumReply))
	if got := sumReply.JobSummary.Summary["web"]; got.Complete != 2 || got.Running != 0 {
		t.Fatalf("summary after complete: %+v", got)
	}
	testutil.WaitFor(t, waitLong, func() error {
		j, _ := s.State().JobByID(nil, "default", "batch")
		if j.Status != structs.JobStatusDead {
			return fmt.Errorf("job status %s, want dead", j.Status)
		}
		return nil
	})
}

func TestUpdateAllocFailureCreatesEval(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	registerNode(t, s)
	registerJob(t, s, testJob("web", 1))
	failed := waitLiveAllocs(t, s, "web", 1)[0]
	req := &structs.AllocUpdateRequest{Alloc: []*structs.Allocation{{ID: failed.ID, NodeID: failed.NodeID, ClientStatus: structs.AllocClientStatusFailed}},
		WriteRequest: structs.WriteRequest{AuthToken: nodeSecret(t, s, failed.NodeID)}}
	must(t, s.RPC(structs.MethodNodeUpdateAlloc, req, &structs.GenericResponse{}))
	evals, _ := s.State().EvalsByJob(nil, "default", "web")
	if len(evals) < 2 || evals[0].TriggeredBy != structs.EvalTriggerRetryFailedAlloc {
		t.Fatalf("want an alloc-failure evaluation, got %d evals (newest %+v)", len(evals), evals[0])
	}
}

func TestGetClientAllocsBlocksUntilAllocation(t *testing.T) {
	s := testServer(t)
	node := registerNode(t, s)
	var first structs.NodeClientAllocsResponse
	req := &structs.NodeSpecificRequest{NodeID: node.ID, SecretID: node.SecretID}
	must(t, s.RPC(structs.MethodNodeGetClientAllocs, req, &first))
	if len(first.Allocs) != 0 {
		t.Fatalf("new node has allocations: %v", first.Allocs)
	}

	type result struct {
		reply structs.NodeClientAllocsResponse
		err   error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		blocking := &structs.NodeSpecificRequest{NodeID: node.ID, SecretID: node.SecretID,
			QueryOptions: structs.QueryOptions{MinQueryIndex: first.Index, MaxQueryTime: waitLong}}
		r.err = s.RPC(structs.MethodNodeGetClientAllocs, blocking, &r.reply)
		done <- r
	}()
	select {
	case r := <-done:
		t.Fatalf("blocking query returned before any allocation: %+v %v", r.reply, r.err)
	case <-time.After(50 * time.Millisecond):
	}
	registerJob(t, s, testJob("web", 1))
	r := <-done
	must(t, r.err)
	if len(r.reply.Allocs) != 1 || r.reply.Index <= first.Index {
		t.Fatalf("blocking query: %+v", r.reply)
	}
	for id, idx := range r.reply.Allocs {
		if a, _ := s.State().AllocByID(nil, id); a == nil || a.AllocModifyIndex != idx {
			t.Fatalf("alloc %s index %d does not match state", id, idx)
		}
	}

	bad := &structs.NodeSpecificRequest{NodeID: node.ID, SecretID: "wrong"}
	if err := s.RPC(structs.MethodNodeGetClientAllocs, bad, &structs.NodeClientAllocsResponse{}); ErrorCode(err) != 403 {
		t.Fatalf("wrong secret: want 403, got %v", err)
	}
}

func TestRestartRestoresState(t *testing.T) {
	cfg := testConfig(t)
	s := startServer(t, cfg)
	registerNode(t, s)
	registerNode(t, s)
	r1 := registerJob(t, s, testJob("before-snapshot", 2))
	waitEvalStatus(t, s, r1.EvalID, structs.EvalStatusComplete)
	// Half the state in a Raft snapshot, half in the log after it.
	must(t, s.raft.Snapshot().Error())
	r2 := registerJob(t, s, testJob("after-snapshot", 2))
	waitEvalStatus(t, s, r2.EvalID, structs.EvalStatusComplete)
	want := stateCounts(t, s)
	if want != (counts{jobs: 2, allocs: 4, evals: 2, nodes: 2}) {
		t.Fatalf("before restart: %+v", want)
	}
	must(t, s.Shutdown())

	cfg.Logger = testutil.Logger(t)
	s2 := startServer(t, cfg)
	testutil.WaitFor(t, waitLong, func() error {
		if got := stateCounts(t, s2); got != want {
			return fmt.Errorf("restored %+v, want %+v", got, want)
		}
		return nil
	})
	if s2.ID() != s.ID() {
		t.Fatalf("server id changed across restart: %s → %s", s.ID(), s2.ID())
	}
	// It restarted on another port: the Raft configuration follows.
	testutil.WaitFor(t, waitLong, func() error {
		peers, err := s2.Peers()
		if err != nil || !slices.Equal(peers, []string{s2.LocalAddr()}) {
			return fmt.Errorf("peers %v (%v), want [%s]", peers, err, s2.LocalAddr())
		}
		return nil
	})
	// The restored leader keeps working: a new job is placed.
	registerJob(t, s2, testJob("after-restart", 1))
	waitLiveAllocs(t, s2, "after-restart", 1)
}

type counts struct{ jobs, allocs, evals, nodes, pending int }

func stateCounts(t *testing.T, s *Server) counts {
	t.Helper()
	jobs, _ := s.State().Jobs(nil, "*", "")
	allocs, _ := s.State().Allocs(nil, "*", "")
	evals, _ := s.State().Evals(nil, "*", "")
	nodes, _ := s.State().Nodes(nil, "")
	c := counts{jobs: len(jobs), allocs: len(allocs), evals: len(evals), nodes: len(nodes)}
	for _, e := range evals {
		if !e.TerminalStatus() {
			c.pending++
		}
	}
	return c
}

func TestMissedHeartbeatsReplaceAllocations(t *testing.T) {
	s := testServer(t, func(c *Config) {
		c.MinHeartbeatTTL = 200 * time.Millisecond
		c.HeartbeatGrace = 100 * time.Millisecond
	})
	doomed := registerNode(t, s)
	registerJob(t, s, testJob("web", 1))
	first := waitLiveAllocs(t, s, "web", 1)[0]
	if first.NodeID != doomed.ID {
		t.Fatalf("alloc placed on %s, want the only node %s", first.NodeID, doomed.ID)
	}
	survivor := registerNode(t, s)
	heartbeat(t, s, survivor.ID, 50*time.Millisecond)

	testutil.WaitFor(t, waitLong, func() error {
		n, _ := s.State().NodeByID(nil, doomed.ID)
		if n.Status != structs.NodeStatusDown {
			return fmt.Errorf("node status %s, want down", n.Status)
		}
		return nil
	})
	testutil.WaitFor(t, waitLong, func() error {
		old, _ := s.State().AllocByID(nil, first.ID)
		if old.ClientStatus != structs.AllocClientStatusLost {
			return fmt.Errorf("alloc on down node is %s/%s, want lost", old.DesiredStatus, old.ClientStatus)
		}
		live := liveAllocs(s, "web")
		if len(live) != 1 || live[0].NodeID != survivor.ID {
			return fmt.Errorf("want one replacement on %s, got %d", survivor.ID, len(live))
		}
		return nil
	})
	if n, _ := s.State().NodeByID(nil, survivor.ID); n.Status != structs.NodeStatusReady {
		t.Fatalf("heartbeating node is %s", n.Status)
	}

	// The down node comes back when it heartbeats again.
	var reply structs.NodeUpdateResponse
	must(t, s.RPC(structs.MethodNodeUpdateStatus, &structs.NodeUpdateStatusRequest{NodeID: doomed.ID, Status: structs.NodeStatusReady}, &reply))
	if n, _ := s.State().NodeByID(nil, doomed.ID); n.Status != structs.NodeStatusReady || reply.HeartbeatTTL == 0 {
		t.Fatalf("node back: status %s ttl %v", n.Status, reply.HeartbeatTTL)
	}
}

func TestBlockedEvalUnblockedWhenNodeJoins(t *testing.T) {
	s := testServer(t)
	reply := registerJob(t, s, testJob("web", 2))
	eval := waitEvalStatus(t, s, reply.EvalID, structs.EvalStatusComplete)
	if eval.BlockedEval == "" || len(eval.FailedTGAllocs) == 0 {
		t.Fatalf("eval without nodes should fail placement and block: %+v", eval)
	}
	waitEvalStatus(t, s, eval.BlockedEval, structs.EvalStatusBlocked)
	testutil.WaitFor(t, waitLong, func() error {
		if st := s.blocked.Stats(); st.TotalBlocked != 1 {
			return fmt.Errorf("blocked tracker holds %d", st.TotalBlocked)
		}
		return nil
	})
	registerNode(t, s)
	waitLiveAllocs(t, s, "web", 2)
	waitEvalStatus(t, s, eval.BlockedEval, structs.EvalStatusComplete)
}

func TestDrainMigratesAllocations(t *testing.T) {
	s := testServer(t)
	drained := registerNode(t, s)
	registerJob(t, s, testJob("web", 2))
	waitLiveAllocs(t, s, "web", 2)
	other := registerNode(t, s)

	var reply structs.NodeDrainUpdateResponse
	req := &structs.NodeUpdateDrainRequest{NodeID: drained.ID, DrainStrategy: &structs.DrainStrategy{DrainSpec: structs.DrainSpec{Deadline: time.Hour}}}
	must(t, s.RPC(structs.MethodNodeUpdateDrain, req, &reply))
	testutil.WaitFor(t, waitLong, func() error {
		live := liveAllocs(s, "web")
		for _, a := range live {
			if a.NodeID != other.ID {
				return fmt.Errorf("alloc %s still on drained node", a.ID)
			}
		}
		if len(live) != 2 {
			return fmt.Errorf("%d live allocs, want 2", len(live))
		}
		n, _ := s.State().NodeByID(nil, drained.ID)
		if n.DrainStrategy != nil || n.LastDrain == nil || n.LastDrain.Status != "complete" {
			return fmt.Errorf("drain not complete: strategy %v last %+v", n.DrainStrategy, n.LastDrain)
		}
		if n.SchedulingEligibility != structs.NodeSchedulingIneligible {
			return fmt.Errorf("drained node is %s", n.SchedulingEligibility)
		}
		return nil
	})
}

func TestCheckIndexSemantics(t *testing.T) {
	s := testServer(t)
	register := func(enforce bool, index uint64) (*structs.JobRegisterResponse, error) {
		var reply structs.JobRegisterResponse
		err := s.RPC(structs.MethodJobRegister, &structs.JobRegisterRequest{Job: testJob("web", 1), EnforceIndex: enforce, JobModifyIndex: index}, &reply)
		return &reply, err
	}
	first, err := register(true, 0)
	must(t, err)
	if _, err := register(true, 0); ErrorCode(err) != 400 {
		t.Fatalf("index 0 on an existing job: want 400, got %v", err)
	}
	if _, err := register(true, first.JobModifyIndex+100); ErrorCode(err) != 400 {
		t.Fatalf("stale index: want 400, got %v", err)
	}
	job := testJob("web", 1)
	job.Meta = map[string]string{"v": "2"}
	var reply structs.JobRegisterResponse
	must(t, s.RPC(structs.MethodJobRegister, &structs.JobRegisterRequest{Job: job, EnforceIndex: true, JobModifyIndex: first.JobModifyIndex}, &reply))
	if reply.JobModifyIndex <= first.JobModifyIndex {
		t.Fatalf("update did not move the job modify index: %d → %d", first.JobModifyIndex, reply.JobModifyIndex)
	}
	// The first version's index is stale now. (A fixed number could happen
	// to be the current index, depending on how many entries the
	// evaluations wrote meanwhile.)
	if _, err := register(true, first.JobModifyIndex); err == nil {
		t.Fatal("enforcing an index that is not current must fail")
	}
}

func TestRegisterUnchangedJobKeepsVersionButEvaluates(t *testing.T) {
	s := testServer(t)
	first := registerJob(t, s, testJob("web", 1))
	second := registerJob(t, s, testJob("web", 1))
	if second.EvalID == "" || second.EvalID == first.EvalID {
		t.Fatalf("unchanged job was not evaluated again: %+v", second)
	}
	if second.JobModifyIndex != first.JobModifyIndex {
		t.Fatalf("unchanged job got a new modify index: %d → %d", first.JobModifyIndex, second.JobModifyIndex)
	}
	versions, _ := s.State().JobVersionsByID(nil, "default", "web")
	if len(versions) != 1 {
		t.Fatalf("unchanged job stored %d versions", len(versions))
	}
	changed := testJob("web", 2)
	registerJob(t, s, changed)
	var vr structs.JobVersionsResponse
	must(t, s.RPC(structs.MethodJobVersions, &structs.JobVersionsRequest{JobID: "web", Diffs: true}, &vr))
	if len(vr.Versions) != 2 || len(vr.Diffs) != 1 || vr.Diffs[0].Type != structs.DiffTypeEdited {
		t.Fatalf("versions %d diffs %+v", len(vr.Versions), vr.Diffs)
	}
}

func TestInvalidInputIsBadRequest(t *testing.T) {
	s := testServer(t)
	var list structs.JobListResponse
	err := s.RPC(structs.MethodJobList, &structs.JobListRequest{QueryOptions: structs.QueryOptions{Filter: "Status =="}}, &list)
	if ErrorCode(err) != 400 {
		t.Fatalf("bad filter: want 400, got %v", err)
	}
	err = s.RPC(structs.MethodJobRegister, &structs.JobRegisterRequest{Job: &structs.Job{ID: "x"}}, &structs.JobRegisterResponse{})
	if ErrorCode(err) != 400 {
		t.Fatalf("invalid job: want 400, got %v", err)
	}
	err = s.RPC(structs.MethodJobDeregister, &structs.JobDeregisterRequest{JobID: "nope"}, &structs.JobDeregisterResponse{})
	if ErrorCode(err) != 404 {
		t.Fatalf("missing job: want 404, got %v", err)
	}
	registerJob(t, s, testJob("web", 1))
	err = s.RPC(structs.MethodJobList, &structs.JobListRequest{QueryOptions: structs.QueryOptions{Filter: `Status == "pending"`, Namespace: "*"}}, &list)
	if err != nil || len(list.Jobs) != 1 {
		t.Fatalf("good filter: %v, %d jobs", err, len(list.Jobs))
	}
}

func TestJobPlanDoesNotChangeState(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	before, _ := s.State().LatestIndex()
	job := testJob("huge", 3)
	job.TaskGroups[0].Tasks[0].Resources.MemoryMB = 6000 // one per node fits
	var reply structs.JobPlanResponse
	must(t, s.RPC(structs.MethodJobPlan, &structs.JobPlanRequest{Job: job, Diff: true}, &reply))
	if reply.FailedTGAllocs["web"] == nil {
		t.Fatalf("plan should report the groups it could not place: %+v", reply)
	}
	du := reply.Annotations.DesiredTGUpdates["web"]
	if du == nil || du.Place != 3 {
		t.Fatalf("annotations: %+v", reply.Annotations)
	}
	if reply.Diff == nil || reply.Diff.Type != structs.DiffTypeAdded || reply.Diff.TaskGroups[0].Updates[structs.UpdateTypeCreate] == 0 {
		t.Fatalf("diff: %+v", reply.Diff)
	}
	if reply.JobModifyIndex != 0 {
		t.Fatalf("plan of a new job: JobModifyIndex %d", reply.JobModifyIndex)
	}
	after, _ := s.State().LatestIndex()
	if j, _ := s.State().JobByID(nil, "default", "huge"); j != nil || after != before {
		t.Fatalf("plan changed state: job %v, index %d → %d", j != nil, before, after)
	}
}

func TestAllocStopReplacesAllocation(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	registerJob(t, s, testJob("web", 1))
	old := waitLiveAllocs(t, s, "web", 1)[0]
	var reply structs.AllocStopResponse
	must(t, s.RPC(structs.MethodAllocStop, &structs.AllocStopRequest{AllocID: old.ID}, &reply))
	waitEvalStatus(t, s, reply.EvalID, structs.EvalStatusComplete)
	testutil.WaitFor(t, waitLong, func() error {
		live := liveAllocs(s, "web")
		if len(live) != 1 || live[0].ID == old.ID {
			return fmt.Errorf("want one replacement of %s, have %d live", old.ID, len(live))
		}
		return nil
	})
	if a, _ := s.State().AllocByID(nil, old.ID); !a.DesiredTransition.ShouldMigrate() || a.DesiredStatus != structs.AllocDesiredStatusStop {
		t.Fatalf("stopped alloc: %+v", a)
	}
}

func TestDeregisterStopsAllocations(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	registerJob(t, s, testJob("web", 2))
	waitLiveAllocs(t, s, "web", 2)
	var reply structs.JobDeregisterResponse
	must(t, s.RPC(structs.MethodJobDeregister, &structs.JobDeregisterRequest{JobID: "web"}, &reply))
	waitLiveAllocs(t, s, "web", 0)
	j, _ := s.State().JobByID(nil, "default", "web")
	if j == nil || !j.Stop {
		t.Fatalf("stopped job: %+v", j)
	}
	must(t, s.RPC(structs.MethodJobDeregister, &structs.JobDeregisterRequest{JobID: "web", Purge: true}, &reply))
	if j, _ := s.State().JobByID(nil, "default", "web"); j != nil {
		t.Fatal("purged job still stored")
	}
}

func TestGarbageCollection(t *testing.T) {
	s := testServer(t)
	node := registerNode(t, s)
	registerJob(t, s, testJob("web", 1))
	waitLiveAllocs(t, s, "web", 1)
	must(t, s.RPC(structs.MethodJobDeregister, &structs.JobDeregisterRequest{JobID: "web"}, &structs.JobDeregisterResponse{}))
	waitLiveAllocs(t, s, "web", 0)
	testutil.WaitFor(t, waitLong, func() error {
		evals, _ := s.State().EvalsByJob(nil, "default", "web")
		for _, e := range evals {
			if !e.TerminalStatus() {
				return fmt.Errorf("eval %s is %s", e.ID, e.Status)
			}
		}
		return nil
	})
	must(t, s.markNodeDown(node.ID))

	// Nothing is old enough yet.
	must(t, s.collectGarbage(time.Now()))
	if j, _ := s.State().JobByID(nil, "default", "web"); j == nil {
		t.Fatal("job collected before its threshold")
	}
	must(t, s.collectGarbage(time.Now().Add(48*time.Hour)))
	if c := stateCounts(t, s); c != (counts{}) {
		t.Fatalf("after GC: %+v", c)
	}
}

func TestWaitForLeaderHonoursContext(t *testing.T) {
	s := testServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Already leading: returns at once even with a dead context.
	if err := s.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
}
