package state

import (
	"testing"
	"time"

	"github.com/roam-sh/roam/client/taskrunner"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func testAlloc() *structs.Allocation {
	task := &structs.Task{Name: "web", Driver: "raw_exec", KillTimeout: 3 * time.Second,
		Config: map[string]any{"command": "/bin/sleep", "args": []any{"10"}, "port": int64(8080)}}
	job := &structs.Job{ID: "j", Name: "j", Type: structs.JobTypeService,
		TaskGroups: []*structs.TaskGroup{{Name: "g", Tasks: []*structs.Task{task}}}}
	return &structs.Allocation{ID: structs.GenerateUUID(), JobID: "j", Job: job, TaskGroup: "g", AllocModifyIndex: 7}
}

func TestRoundTripAndReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	a := testAlloc()
	if err := db.PutNodeIdentity("node-1", "secret-1"); err != nil {
		t.Fatal(err)
	}
	if err := db.PutAllocation(a); err != nil {
		t.Fatal(err)
	}
	started := time.Now().UTC().Truncate(time.Microsecond)
	st := &structs.TaskState{State: structs.TaskStateRunning, StartedAt: started,
		Events: []*structs.TaskEvent{{Type: structs.TaskStarted, Details: map[string]string{"a": "b"}}}}
	if err := db.PutTaskState(a.ID, "web", st); err != nil {
		t.Fatal(err)
	}
	h := drivers.NewTaskHandle("raw_exec", 1, &drivers.TaskConfig{ID: a.ID + "/web/1", Config: map[string]any{"command": "x"}})
	h.DriverState = []byte(`{"pid":1}`)
	if err := db.PutTaskRunnerLocalState(a.ID, "web", &taskrunner.LocalState{TaskHandle: h}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutNetworkStatus(a.ID, &structs.AllocNetworkStatus{InterfaceName: "eth0", Address: "172.26.64.2"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(dir, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if id, secret, _ := db.NodeIdentity(); id != "node-1" || secret != "secret-1" {
		t.Fatalf("identity %q %q", id, secret)
	}
	allocs, bad, err := db.Allocations()
	if err != nil || len(bad) != 0 || len(allocs) != 1 {
		t.Fatalf("allocs %v bad %v err %v", allocs, bad, err)
	}
	got := allocs[0]
	task := got.Job.TaskGroups[0].Tasks[0]
	if got.ID != a.ID || got.AllocModifyIndex != 7 || task.KillTimeout != 3*time.Second || task.Config["command"] != "/bin/sleep" {
		t.Fatalf("alloc round trip: %+v task %+v", got, task)
	}
	ls, gotSt, err := db.TaskRunnerState(a.ID, "web")
	if err != nil {
		t.Fatal(err)
	}
	if gotSt.State != structs.TaskStateRunning || !gotSt.StartedAt.Equal(started) || gotSt.Events[0].Details["a"] != "b" {
		t.Fatalf("task state %+v", gotSt)
	}
	if ls.TaskHandle == nil || ls.TaskHandle.Config.ID != a.ID+"/web/1" || string(ls.TaskHandle.DriverState) != `{"pid":1}` {
		t.Fatalf("local state %+v", ls.TaskHandle)
	}
	if ns, _ := db.NetworkStatus(a.ID); ns == nil || ns.Address != "172.26.64.2" {
		t.Fatalf("network status %+v", ns)
	}
	if names, _ := db.TaskNames(a.ID); len(names) != 1 || names[0] != "web" {
		t.Fatalf("task names %v", names)
	}
}

func TestDeleteAndLateWrites(t *testing.T) {
	db, err := Open(t.TempDir(), testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := testAlloc()
	if err := db.PutAllocation(a); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteAllocationBucket(a.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteAllocationBucket(a.ID); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	// A task runner finishing after the destroy must not recreate the alloc.
	if err := db.PutTaskState(a.ID, "web", &structs.TaskState{State: structs.TaskStateDead}); err != nil {
		t.Fatal(err)
	}
	if allocs, bad, _ := db.Allocations(); len(allocs) != 0 || len(bad) != 0 {
		t.Fatalf("after delete: %v %v", allocs, bad)
	}
}
