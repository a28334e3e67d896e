package structs

import (
	"testing"
	"time"
)

func TestJobCopyIsDeep(t *testing.T) {
	j := &Job{ID: "a", Meta: map[string]string{"k": "v"}, TaskGroups: []*TaskGroup{{
		Name: "g", Tasks: []*Task{{Name: "t", Config: map[string]any{"args": []any{"x"}}}},
	}}}
	c := j.Copy()
	c.Meta["k"] = "changed"
	c.TaskGroups[0].Tasks[0].Config["args"].([]any)[0] = "y"
	c.TaskGroups[0].Name = "h"
	if j.Meta["k"] != "v" || j.TaskGroups[0].Name != "g" || j.TaskGroups[0].Tasks[0].Config["args"].([]any)[0] != "x" {
		t.Fatalf("copy shares memory with the original: %+v", j.TaskGroups[0])
	}
}

func TestAllocCopyKeepsTimesAndSharesJob(t *testing.T) {
	now := time.Now()
	job := &Job{ID: "j"}
	a := &Allocation{ID: "a", Job: job, TaskStates: map[string]*TaskState{"t": {StartedAt: now}}}
	c := a.Copy()
	if c.Job != job {
		t.Fatal("copy must share the immutable job")
	}
	if !c.TaskStates["t"].StartedAt.Equal(now) {
		t.Fatalf("time lost in copy: %v", c.TaskStates["t"].StartedAt)
	}
	c.TaskStates["t"].State = TaskStateDead
	if a.TaskStates["t"].State != "" {
		t.Fatal("task states shared")
	}
}
