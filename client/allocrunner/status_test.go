package allocrunner

import (
	"testing"

	"github.com/roam-sh/roam/structs"
)

func TestClientStatus(t *testing.T) {
	var (
		pending = &structs.TaskState{State: structs.TaskStatePending}
		running = &structs.TaskState{State: structs.TaskStateRunning}
		done    = &structs.TaskState{State: structs.TaskStateDead}
		failed  = &structs.TaskState{State: structs.TaskStateDead, Failed: true}
	)
	tests := []struct {
		name   string
		states map[string]*structs.TaskState
		want   structs.AllocClientStatus
		desc   string
	}{
		{"no tasks yet", nil, structs.AllocClientStatusPending, "No tasks have started"},
		{"all pending", map[string]*structs.TaskState{"a": pending, "b": pending}, structs.AllocClientStatusPending, "No tasks have started"},
		{"one running", map[string]*structs.TaskState{"a": running, "b": pending}, structs.AllocClientStatusRunning, "Tasks are running"},
		{"prestart done, main running", map[string]*structs.TaskState{"init": done, "main": running}, structs.AllocClientStatusRunning, "Tasks are running"},
		{"prestart done, main pending", map[string]*structs.TaskState{"init": done, "main": pending}, structs.AllocClientStatusPending, "No tasks have started"},
		{"all done", map[string]*structs.TaskState{"a": done, "b": done}, structs.AllocClientStatusComplete, "All tasks have completed"},
		{"failed beats running", map[string]*structs.TaskState{"a": failed, "b": running}, structs.AllocClientStatusFailed, "Failed tasks"},
		{"failed beats done", map[string]*structs.TaskState{"a": failed, "b": done}, structs.AllocClientStatusFailed, "Failed tasks"},
		{"failed beats pending", map[string]*structs.TaskState{"a": failed, "b": pending}, structs.AllocClientStatusFailed, "Failed tasks"},
	}
	for _, tc := range tests {
		got, desc := ClientStatus(tc.states)
		if got != tc.want || desc != tc.desc {
			t.Errorf("%s: got %s %q, want %s %q", tc.name, got, desc, tc.want, tc.desc)
		}
	}
}
