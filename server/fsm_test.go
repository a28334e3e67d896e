package server

import (
	"bytes"
	"io"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/roam-sh/roam/internal/wire"
	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func testFSM(t *testing.T) *fsm {
	st, err := state.NewStateStore()
	must(t, err)
	return newFSM(st, testutil.Logger(t))
}

func entry(t *testing.T, index uint64, typ structs.MessageType, msg any) *raft.Log {
	buf, err := wire.Encode(wire.Handle(), []byte{byte(typ)}, msg)
	must(t, err)
	return &raft.Log{Index: index, Type: raft.LogCommand, Data: buf}
}

func TestFSMUnknownEntryTypes(t *testing.T) {
	f := testFSM(t)
	ignorable := &raft.Log{Index: 1, Type: raft.LogCommand, Data: []byte{byte(structs.IgnoreUnknownTypeFlag | 100), 0xc0}}
	if res := f.Apply(ignorable); res != nil {
		t.Fatalf("ignorable unknown entry: %v", res)
	}
	unknown := &raft.Log{Index: 2, Type: raft.LogCommand, Data: []byte{100, 0xc0}}
	if err, ok := f.Apply(unknown).(error); !ok || err == nil {
		t.Fatal("unknown entry without the ignore flag must fail")
	}
	// A known type with the flag set is applied, not skipped.
	node := schedtest.MockNode()
	if res := f.Apply(entry(t, 3, structs.NodeRegisterRequestType|structs.IgnoreUnknownTypeFlag, &structs.NodeRegisterRequest{Node: node})); res != nil {
		t.Fatalf("flagged known entry: %v", res)
	}
	if n, _ := f.state.NodeByID(nil, node.ID); n == nil {
		t.Fatal("flagged known entry not applied")
	}
	if f.applied.get() != 3 {
		t.Fatalf("applied index %d, want 3", f.applied.get())
	}
}

func TestFSMApplyErrorsAreResults(t *testing.T) {
	f := testFSM(t)
	res := f.Apply(entry(t, 1, structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{NodeID: structs.GenerateUUID(), Status: structs.NodeStatusReady}))
	if err, ok := res.(error); !ok || err == nil {
		t.Fatalf("status update of a missing node: %v", res)
	}
}

// memSink is a raft.SnapshotSink over a buffer.
type memSink struct{ bytes.Buffer }

func (*memSink) ID() string    { return "mem" }
func (*memSink) Cancel() error { return nil }
func (*memSink) Close() error  { return nil }

func TestFSMSnapshotRestore(t *testing.T) {
	f := testFSM(t)
	node := schedtest.MockNode()
	job := testJob("web", 1)
	job.Canonicalize()
	eval := newEval("default", "web", structs.JobTypeService, 50, structs.EvalTriggerJobRegister)
	for i, e := range []*raft.Log{
		entry(t, 1, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: node}),
		entry(t, 2, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job, Eval: eval}),
	} {
		if res := f.Apply(e); res != nil {
			t.Fatalf("entry %d: %v", i, res)
		}
	}
	if stored, _ := f.state.EvalByID(nil, eval.ID); stored == nil || stored.JobModifyIndex != 2 {
		t.Fatalf("eval of a registration must carry the job's modify index: %+v", stored)
	}
	snap, err := f.Snapshot()
	must(t, err)
	var sink memSink
	must(t, snap.Persist(&sink))

	g := testFSM(t)
	must(t, g.Restore(io.NopCloser(&sink)))
	if n, _ := g.state.NodeByID(nil, node.ID); n == nil {
		t.Fatal("node not restored")
	}
	if j, _ := g.state.JobByID(nil, "default", "web"); j == nil {
		t.Fatal("job not restored")
	}
	if g.applied.get() != 2 {
		t.Fatalf("restored applied index %d", g.applied.get())
	}
}
