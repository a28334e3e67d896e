package server

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/roam-sh/roam/internal/wire"
	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// TestFSMApplyIsDeterministic replays the Raft log of a real server's busy
// life into two fresh FSMs in lockstep, the second one snapshotted and
// restored into a third half-way, and the clock 36 hours further on at each
// of its applies. After every entry the two stores must hold the same thing:
// every table, every object, every index. Another server applying the same
// log (or restoring a snapshot of it) must end with the state the leader
// has; a time.Now, a random number or a fresh ID read during apply breaks
// that and shows up here, named by the entry that caused it.
//
// The replays run in a synctest bubble: its clock is fake and moves only when
// the test sleeps, so the wall clock jumps 36 hours between the two applies
// of an entry without the test waiting for it.
func TestFSMApplyIsDeterministic(t *testing.T) {
	logs := recordLog(t)
	replayTwice(t, logs, []string{"allocs", "evals", "jobs", "job_versions", "job_summary", "nodes", "node_allocs", "node_usage", "service_registrations", "root_keys", "index"})
}

// TestFSMApplyIsDeterministicTenancy is the same check for namespaces, node
// pools and variables, on a log of their own: added to the scenario above,
// their entries would move its restore point to where the rebuilt
// node_allocs index is known to differ (a derived table, rebuilt from the
// allocations table's index).
func TestFSMApplyIsDeterministicTenancy(t *testing.T) {
	cfg := testConfig(t)
	s := startServer(t, cfg)
	recordTenancy(t, s)
	must(t, s.Shutdown())
	logs := readRaftLog(t, cfg.DataDir)
	requireTypes(t, logs, tenancyTypes)
	replayTwice(t, logs, []string{"namespaces", "node_pools", "variables", "root_keys"})
}

// tenancyTypes are the entry types TestFSMApplyIsDeterministicTenancy covers.
var tenancyTypes = []structs.MessageType{
	structs.NamespaceUpsertRequestType,
	structs.NamespaceDeleteRequestType,
	structs.NodePoolUpsertRequestType,
	structs.NodePoolDeleteRequestType,
	structs.VarApplyStateRequestType,
}

// replayTwice applies logs to two stores, one restored from a snapshot
// halfway, with their clocks 36 hours apart, and fails on any difference;
// filled names the tables that must hold something in the end.
func replayTwice(t *testing.T, logs []*raft.Log, filled []string) {
	synctest.Test(t, func(t *testing.T) {
		straight, restored := testFSM(t), testFSM(t)
		for i, l := range logs {
			if i == len(logs)/2 {
				restored = snapshotRestore(t, restored)
				requireSameStores(t, fmt.Sprintf("restore at entry %d", i), straight.state, restored.state)
			}
			want := fmt.Sprint(straight.Apply(l))
			time.Sleep(36 * time.Hour) // not synchronisation: it moves the bubble's fake clock, at once
			got := fmt.Sprint(restored.Apply(l))
			what := fmt.Sprintf("entry %d (index %d, %s)", i, l.Index, entryType(l))
			if want != got {
				t.Fatalf("%s: apply results differ: %s, then %s", what, want, got)
			}
			requireSameStores(t, what, straight.state, restored.state)
		}
		requireFilledTables(t, straight.state, filled)
		t.Logf("%d entries applied alike", len(logs))
	})
}

// requireFilledTables checks that the compared final state holds something in
// every table, so that the comparison is not vacuous.
func requireFilledTables(t *testing.T, st *state.StateStore, tables []string) {
	t.Helper()
	contents := storeContents(t, st)
	for _, table := range tables {
		if len(contents[table+" by id"]) == 0 {
			t.Errorf("the final state has no %s", table)
		}
	}
}

// requireSameStores fails the test, naming what was applied last, unless the
// stores hold the same contents.
func requireSameStores(t *testing.T, after string, a, b *state.StateStore) {
	t.Helper()
	if diffs := compareStores(storeContents(t, a), storeContents(t, b)); len(diffs) > 0 {
		t.Fatalf("after %s the stores differ:\n%s", after, strings.Join(diffs, "\n"))
	}
}

func entryType(l *raft.Log) string {
	if l.Type != raft.LogCommand || len(l.Data) == 0 {
		return l.Type.String()
	}
	return structs.MessageType(l.Data[0]).String()
}

// scenarioTypes are the entry types the recorded scenario must contain, so
// that the test keeps covering them if the scenario or the server changes.
// A new entry type belongs in the scenario and in this list.
var scenarioTypes = []structs.MessageType{
	structs.NodeRegisterRequestType,
	structs.NodeDeregisterRequestType,
	structs.NodeUpdateStatusRequestType,
	structs.NodeUpdateDrainRequestType,
	structs.NodeUpdateEligibilityRequestType,
	structs.JobRegisterRequestType,
	structs.JobDeregisterRequestType,
	structs.EvalUpdateRequestType,
	structs.EvalDeleteRequestType,
	structs.AllocClientUpdateRequestType,
	structs.ApplyPlanResultsRequestType,
	structs.AllocUpdateDesiredTransitionRequestType,
	structs.JobStabilityRequestType,
	structs.JobBatchDeregisterRequestType,
	structs.ServiceRegistrationUpsertRequestType,
	structs.ServiceRegistrationDeleteRequestType,
	structs.ServiceRegistrationUpdateHealthRequestType,
	structs.RootKeyUpsertRequestType,
	structs.RootKeyDeleteRequestType,
	// ClusterMetadata is left out: nothing writes it yet. Namespaces, node
	// pools and variables: tenancyTypes.
}

// recordLog drives a single server through nodes joining, jobs placed, run,
// failed, stopped, migrated off a drained node and replaced after a node
// went down, service registrations, a stopped job, garbage collection and
// a new job after it, then reads back the Raft log it wrote.
func recordLog(t *testing.T) []*raft.Log {
	cfg := testConfig(t)
	s := startServer(t, cfg)
	n1, n2 := registerNode(t, s), registerNode(t, s)

	registerJob(t, s, withServices(testJob("web", 3), "web"))
	web := waitLiveAllocs(t, s, "web", 3)
	clientUpdate(t, s, structs.AllocClientStatusRunning, web...)
	must(t, upsertServices(t, s,
		&structs.ServiceRegistration{ID: "_nomad-task-" + web[0].ID + "-web-http", ServiceName: "web", Namespace: "default", JobID: "web", AllocID: web[0].ID, NodeID: web[0].NodeID, Address: "10.0.0.1", Port: 8080},
		&structs.ServiceRegistration{ID: "_nomad-task-" + web[1].ID + "-web-http", ServiceName: "web", Namespace: "default", JobID: "web", AllocID: web[1].ID, NodeID: web[1].NodeID, Address: "10.0.0.2", Port: 8080},
	))
	must(t, s.RPC(structs.MethodServiceRegistrationDelete, &structs.ServiceRegistrationDeleteRequest{AllocIDs: []string{web[1].ID},
		WriteRequest: structs.WriteRequest{AuthToken: nodeSecret(t, s, web[1].NodeID)}}, &structs.GenericResponse{}))
	must(t, s.RPC(structs.MethodJobStable, &structs.JobStabilityRequest{JobID: "web", JobVersion: 0, Stable: true}, &structs.JobStabilityResponse{}))

	// A failure (evaluated for a reschedule) and an operator's stop
	// (replaced at once).
	clientUpdate(t, s, structs.AllocClientStatusFailed, web[0])
	var stop structs.AllocStopResponse
	must(t, s.RPC(structs.MethodAllocStop, &structs.AllocStopRequest{AllocID: web[2].ID}, &stop))
	waitEvalStatus(t, s, stop.EvalID, structs.EvalStatusComplete)

	// Drain n1: what runs there moves to n2, the drain completes, and n1 is
	// made eligible again.
	var drain structs.NodeDrainUpdateResponse
	must(t, s.RPC(structs.MethodNodeUpdateDrain, &structs.NodeUpdateDrainRequest{NodeID: n1.ID, DrainStrategy: &structs.DrainStrategy{DrainSpec: structs.DrainSpec{Deadline: time.Hour}}}, &drain))
	waitDrainComplete(t, s, n1.ID)
	must(t, s.RPC(structs.MethodNodeUpdateEligibility, &structs.NodeUpdateEligibilityRequest{NodeID: n1.ID, Eligibility: structs.NodeSchedulingEligible}, &structs.NodeEligibilityUpdateResponse{}))

	// A batch job runs to completion.
	batch := testJob("batch", 2)
	batch.Type = structs.JobTypeBatch
	batch.Update = structs.UpdateStrategy{}
	batch.TaskGroups[0].ReschedulePolicy = structs.DefaultReschedulePolicy(structs.JobTypeBatch)
	batch.TaskGroups[0].RestartPolicy = structs.DefaultRestartPolicy(structs.JobTypeBatch)
	registerJob(t, s, batch)
	batchAllocs := waitLiveAllocs(t, s, "batch", 2)
	clientUpdate(t, s, structs.AllocClientStatusRunning, batchAllocs...)
	clientUpdate(t, s, structs.AllocClientStatusComplete, batchAllocs...)

	// n2 misses its heartbeats: its allocations are lost and replaced on n1.
	must(t, s.markNodeDown(n2.ID))
	waitLiveOn(t, s, "web", n1.ID)

	// The service job is stopped, and garbage collection (as seen two days
	// later) removes what is finished: the dead batch job, evaluations,
	// allocations and the down node.
	must(t, s.RPC(structs.MethodJobDeregister, &structs.JobDeregisterRequest{JobID: "web"}, &structs.JobDeregisterResponse{}))
	waitLiveAllocs(t, s, "web", 0)
	waitEvalsSettled(t, s)
	must(t, s.collectGarbage(time.Now().Add(48*time.Hour)))
	// The identity keyring rotates twice; the key between signed nothing
	// and is collected.
	for range 2 {
		_, err := s.keyring.rotate()
		must(t, err)
	}
	must(t, s.keyring.collect(time.Now().Add(48*time.Hour)))

	// Life goes on, so that the final state holds live work too: a new node,
	// a new job running there and on n1, one of its services registered.
	registerNode(t, s)
	registerJob(t, s, withServices(testJob("api", 2), "api"))
	api := waitLiveAllocs(t, s, "api", 2)
	clientUpdate(t, s, structs.AllocClientStatusRunning, api...)
	must(t, upsertServices(t, s,
		&structs.ServiceRegistration{ID: "_nomad-task-" + api[0].ID + "-api-http", ServiceName: "api", Namespace: "default", JobID: "api", AllocID: api[0].ID, NodeID: api[0].NodeID, Address: "10.0.0.3", Port: 8080,
			Checks: []*structs.ServiceCheckStatus{{ID: "c", Name: "alive", Type: structs.CheckTypeTCP, Status: structs.HealthCritical}}},
	))
	must(t, s.RPC(structs.MethodServiceRegistrationUpdateHealth, &structs.ServiceRegistrationUpdateHealthRequest{WriteRequest: structs.WriteRequest{AuthToken: nodeSecret(t, s, api[0].NodeID)}, Updates: []*structs.ServiceHealthUpdate{
		{ID: "_nomad-task-" + api[0].ID + "-api-http", Checks: []*structs.ServiceCheckStatus{
			{ID: "c", Name: "alive", Type: structs.CheckTypeTCP, Status: structs.HealthPassing, Output: "connected", Timestamp: time.Unix(1700000000, 0)}}},
	}}, &structs.GenericResponse{}))
	waitEvalsSettled(t, s)

	must(t, s.Shutdown())
	logs := readRaftLog(t, cfg.DataDir)
	requireTypes(t, logs, scenarioTypes)
	return logs
}

// recordTenancy writes namespaces, node pools and variables: one of each
// deleted, one kept, a check-and-set refused and a lock taken.
func recordTenancy(t *testing.T, s *Server) {
	for _, name := range []string{"prod", "gone"} {
		must(t, s.RPC(structs.MethodNamespaceUpsert, &structs.NamespaceUpsertRequest{Namespaces: []*structs.Namespace{{Name: name}}}, &structs.GenericResponse{}))
		must(t, s.RPC(structs.MethodNodePoolUpsert, &structs.NodePoolUpsertRequest{NodePools: []*structs.NodePool{{Name: name}}}, &structs.GenericResponse{}))
	}
	must(t, s.RPC(structs.MethodNamespaceDelete, &structs.NamespaceDeleteRequest{Namespaces: []string{"gone"}}, &structs.GenericResponse{}))
	must(t, s.RPC(structs.MethodNodePoolDelete, &structs.NodePoolDeleteRequest{Names: []string{"gone"}}, &structs.GenericResponse{}))
	apply := func(op structs.VarOp, v *structs.VariableDecrypted) *structs.VariablesApplyResponse {
		var out structs.VariablesApplyResponse
		must(t, s.RPC(structs.MethodVariablesApply, &structs.VariablesApplyRequest{Op: op, Var: v, WriteRequest: structs.WriteRequest{Namespace: "prod"}}, &out))
		return &out
	}
	items := structs.VariableItems{"k": "v"}
	set := apply(structs.VarOpSet, &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Path: "app/a"}, Items: items})
	if c := apply(structs.VarOpCAS, &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Path: "app/a", ModifyIndex: set.Output.ModifyIndex + 100}, Items: items}); c.Conflict == nil {
		t.Fatal("a check-and-set at a wrong index landed")
	}
	apply(structs.VarOpSet, &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Path: "app/b"}, Items: items})
	apply(structs.VarOpDelete, &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Path: "app/b"}})
	apply(structs.VarOpLockAcquire, &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Path: "locks/l"}})
}

// clientUpdate reports a client status for allocations, as their clients
// do: one report per node, with its secret, with task states, and without
// a modify time (the server stamps one).
func clientUpdate(t *testing.T, s *Server, status structs.AllocClientStatus, allocs ...*structs.Allocation) {
	t.Helper()
	byNode := map[string]*structs.AllocUpdateRequest{}
	var order []string
	for _, a := range allocs {
		req := byNode[a.NodeID]
		if req == nil {
			req = &structs.AllocUpdateRequest{WriteRequest: structs.WriteRequest{AuthToken: nodeSecret(t, s, a.NodeID)}}
			byNode[a.NodeID] = req
			order = append(order, a.NodeID)
		}
		started := time.Now().Truncate(time.Second)
		req.Alloc = append(req.Alloc, &structs.Allocation{ID: a.ID, NodeID: a.NodeID, ClientStatus: status,
			TaskStates: map[string]*structs.TaskState{"web": {State: structs.TaskStateRunning, StartedAt: started, Events: []*structs.TaskEvent{{Type: "Started", Time: started.UnixNano()}}}}})
	}
	for _, id := range order {
		must(t, s.RPC(structs.MethodNodeUpdateAlloc, byNode[id], &structs.GenericResponse{}))
	}
}

func waitDrainComplete(t *testing.T, s *Server, nodeID string) {
	t.Helper()
	testutil.WaitFor(t, waitLong, func() error {
		n, _ := s.State().NodeByID(nil, nodeID)
		if n.DrainStrategy != nil || n.LastDrain == nil || n.LastDrain.Status != state.DrainStatusComplete {
			return fmt.Errorf("drain of %s not complete: %+v", nodeID, n.LastDrain)
		}
		return nil
	})
}

// waitLiveOn waits until the job has live allocations, all on nodeID.
func waitLiveOn(t *testing.T, s *Server, jobID, nodeID string) {
	t.Helper()
	testutil.WaitFor(t, waitLong, func() error {
		live := liveAllocs(s, jobID)
		if len(live) == 0 {
			return fmt.Errorf("job %s has no live allocations", jobID)
		}
		for _, a := range live {
			if a.NodeID != nodeID {
				return fmt.Errorf("allocation %s of %s is on %s, want %s", a.ID, jobID, a.NodeID, nodeID)
			}
		}
		return nil
	})
}

// waitEvalsSettled waits until no evaluation is being worked on: each is
// terminal, blocked, or waiting for a later time (a delayed reschedule).
func waitEvalsSettled(t *testing.T, s *Server) {
	t.Helper()
	testutil.WaitFor(t, waitLong, func() error {
		evals, _ := s.State().Evals(nil, "*", "")
		for _, e := range evals {
			if !e.TerminalStatus() && e.Status != structs.EvalStatusBlocked && !e.WaitUntil.After(time.Now()) {
				return fmt.Errorf("evaluation %s of %s is %s", e.ID, e.JobID, e.Status)
			}
		}
		return nil
	})
}

// readRaftLog reads every entry of a stopped server's Raft log.
func readRaftLog(t *testing.T, dataDir string) []*raft.Log {
	t.Helper()
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(raftDir(dataDir), raftDBFile)})
	must(t, err)
	defer store.Close()
	first, err := store.FirstIndex()
	must(t, err)
	last, err := store.LastIndex()
	must(t, err)
	var logs []*raft.Log
	for i := first; i <= last && i > 0; i++ {
		var l raft.Log
		must(t, store.GetLog(i, &l))
		logs = append(logs, &l)
	}
	return logs
}

func requireTypes(t *testing.T, logs []*raft.Log, want []structs.MessageType) {
	t.Helper()
	seen := map[structs.MessageType]bool{}
	for _, l := range logs {
		if l.Type == raft.LogCommand && len(l.Data) > 0 {
			seen[structs.MessageType(l.Data[0])&^structs.IgnoreUnknownTypeFlag] = true
		}
	}
	for _, typ := range want {
		if !seen[typ] {
			t.Errorf("the recorded log has no %s entry", typ)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// snapshotRestore persists f's snapshot and restores it into a new FSM.
func snapshotRestore(t *testing.T, f *fsm) *fsm {
	t.Helper()
	snap, err := f.Snapshot()
	must(t, err)
	var sink memSink
	must(t, snap.Persist(&sink))
	g := testFSM(t)
	must(t, g.Restore(io.NopCloser(&sink)))
	return g
}

// storeContents lists the store's objects per "table by index", each in
// canonical form.
func storeContents(t *testing.T, st *state.StateStore) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	must(t, st.Walk(func(table, index string, obj any) error {
		c, err := canonical(obj)
		if err != nil {
			return fmt.Errorf("%s by %s: %w", table, index, err)
		}
		key := table + " by " + index
		out[key] = append(out[key], c)
		return nil
	}))
	return out
}

// canonical renders a stored object as JSON (map keys sorted) after one trip
// through the Raft wire format. The trip is the one a snapshot makes: it
// erases what no server can tell apart after a restore (nil and empty
// slices, a time's monotonic reading and location), and nothing else.
func canonical(obj any) (string, error) {
	buf, err := wire.Encode(wire.Handle(), nil, obj)
	if err != nil {
		return "", err
	}
	fresh := reflect.New(reflect.TypeOf(obj).Elem()).Interface()
	if err := wire.Decode(wire.Handle(), buf, fresh); err != nil {
		return "", err
	}
	js, err := json.Marshal(fresh)
	return string(js), err
}

// compareStores lists every table and index whose contents differ, with the
// first differing object.
func compareStores(a, b map[string][]string) []string {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		x, y := a[k], b[k]
		switch {
		case slices.Equal(x, y):
		case len(x) != len(y):
			diffs = append(diffs, fmt.Sprintf("%s: %d objects in the first store, %d in the second", k, len(x), len(y)))
		default:
			i := 0
			for x[i] == y[i] {
				i++
			}
			diffs = append(diffs, fmt.Sprintf("%s: object %d differs at %s", k, i, firstDifference(x[i], y[i])))
		}
	}
	return diffs
}

// firstDifference shows both texts around the first byte where they differ.
func firstDifference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-80)
	return fmt.Sprintf("\n  first:  …%s\n  second: …%s", a[from:min(len(a), i+80)], b[from:min(len(b), i+80)])
}
