package wire

import (
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

func TestRoundTripKeepsTypesUsersCareAbout(t *testing.T) {
	h := Handle()
	now := time.Now().Round(0)
	in := &structs.Allocation{
		ID: structs.GenerateUUID(), ClientStatus: structs.AllocClientStatusRunning,
		TaskStates: map[string]*structs.TaskState{"web": {State: structs.TaskStateRunning, StartedAt: now}},
		Job: &structs.Job{ID: "j", TaskGroups: []*structs.TaskGroup{{Name: "g", Tasks: []*structs.Task{{
			Name: "t", Config: map[string]any{"command": "/bin/true", "args": []any{"a"}}, KillTimeout: 3 * time.Second,
		}}}}},
	}
	b, err := Encode(h, []byte{7}, in)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 7 {
		t.Fatalf("prefix lost: %v", b[:1])
	}
	var out structs.Allocation
	if err := Decode(h, b[1:], &out); err != nil {
		t.Fatal(err)
	}
	if !out.TaskStates["web"].StartedAt.Equal(now) {
		t.Fatalf("time changed: %v != %v", out.TaskStates["web"].StartedAt, now)
	}
	task := out.Job.TaskGroups[0].Tasks[0]
	if task.Config["command"] != "/bin/true" || task.KillTimeout != 3*time.Second {
		t.Fatalf("task changed: %+v", task)
	}
	if args, ok := task.Config["args"].([]any); !ok || args[0] != "a" {
		t.Fatalf("args changed: %#v", task.Config["args"])
	}
}

func TestNodeSecretSurvivesTheWire(t *testing.T) {
	h := Handle()
	b, err := Encode(h, nil, &structs.Node{ID: "n", SecretID: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	var n structs.Node
	if err := Decode(h, b, &n); err != nil {
		t.Fatal(err)
	}
	if n.SecretID != "s3cret" {
		t.Fatal("SecretID must travel between roam processes even though JSON hides it")
	}
}

func TestZeroFieldsLeftOutDecodeAsBefore(t *testing.T) {
	h := Handle()
	in := &structs.Allocation{ID: "a", TaskStates: map[string]*structs.TaskState{}, Metrics: &structs.AllocMetric{}}
	b, err := Encode(h, nil, in)
	if err != nil {
		t.Fatal(err)
	}
	var out structs.Allocation
	if err := Decode(h, b, &out); err != nil {
		t.Fatal(err)
	}
	if out.ID != "a" || out.Job != nil || out.ClientStatus != "" || out.CreateIndex != 0 {
		t.Fatalf("scalars: %+v", out)
	}
	if out.TaskStates == nil || out.Metrics == nil {
		t.Fatal("an empty map and a pointer to a zero value must survive the wire")
	}
}
