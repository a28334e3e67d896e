package allocrunner

import (
	"slices"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

func lifecycleTasks() []*structs.Task {
	return []*structs.Task{
		{Name: "init", Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.LifecycleHookPrestart}},
		{Name: "proxy", Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.LifecycleHookPrestart, Sidecar: true}},
		{Name: "main"},
		{Name: "after", Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.LifecycleHookPoststart}},
		{Name: "cleanup", Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.LifecycleHookPoststop}},
	}
}

func TestGates(t *testing.T) {
	var (
		pending = &structs.TaskState{State: structs.TaskStatePending}
		running = &structs.TaskState{State: structs.TaskStateRunning, StartedAt: time.Now()}
		done    = &structs.TaskState{State: structs.TaskStateDead, StartedAt: time.Now()}
		failed  = &structs.TaskState{State: structs.TaskStateDead, Failed: true}
	)
	tasks := lifecycleTasks()
	steps := []struct {
		name   string
		states map[string]*structs.TaskState
		want   []string
	}{
		{"start: prestart only", map[string]*structs.TaskState{"init": pending, "proxy": pending, "main": pending, "after": pending, "cleanup": pending}, []string{"init", "proxy"}},
		{"init done, proxy not yet running", map[string]*structs.TaskState{"init": done, "proxy": pending, "main": pending, "after": pending, "cleanup": pending}, nil},
		{"proxy running: main", map[string]*structs.TaskState{"init": done, "proxy": running, "main": pending, "after": pending, "cleanup": pending}, []string{"main"}},
		{"main started: poststart", map[string]*structs.TaskState{"init": done, "proxy": running, "main": running, "after": pending, "cleanup": pending}, []string{"after"}},
		{"main dead, sidecar alive: nothing", map[string]*structs.TaskState{"init": done, "proxy": running, "main": done, "after": done, "cleanup": pending}, nil},
		{"all dead: poststop", map[string]*structs.TaskState{"init": done, "proxy": done, "main": done, "after": done, "cleanup": pending}, []string{"cleanup"}},
	}
	var g gates
	for _, s := range steps {
		if got := g.update(tasks, s.states); !slices.Equal(got, s.want) {
			t.Fatalf("%s: allowed %v, want %v", s.name, got, s.want)
		}
	}

	// A failed prestart task never opens the main stage.
	var g2 gates
	g2.update(tasks, map[string]*structs.TaskState{"init": failed, "proxy": running, "main": pending})
	if g2.mainReached() {
		t.Fatal("main stage opened after a failed prestart task")
	}
	// Without lifecycle tasks, main opens at once.
	var g3 gates
	if got := g3.update([]*structs.Task{{Name: "a"}, {Name: "b"}}, map[string]*structs.TaskState{"a": pending, "b": pending}); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("plain group: allowed %v", got)
	}
}

func TestKillPhasesCoverEveryTaskOnce(t *testing.T) {
	tasks := append(lifecycleTasks(), &structs.Task{Name: "boss", Leader: true})
	seen := map[string]int{}
	for _, p := range killPhases() {
		for _, task := range tasks {
			if p.match(task) {
				seen[task.Name]++
			}
		}
	}
	for _, task := range tasks {
		want := 1
		if task.IsPoststop() {
			want = 0
		}
		if seen[task.Name] != want {
			t.Errorf("%s killed in %d phases, want %d", task.Name, seen[task.Name], want)
		}
	}
}
