package allocrunner

import (
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

// TestHealthJudge walks the health clock through sequences of views, as the
// watcher sees them, and checks each verdict: when health is decided, why
// an allocation is unhealthy, and that a restart or a failing check starts
// min_healthy_time over.
func TestHealthJudge(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	running := func(started float64) *structs.TaskState {
		return &structs.TaskState{State: structs.TaskStateRunning, StartedAt: at(started)}
	}
	restarted := func(started, restart float64) *structs.TaskState {
		st := running(started)
		st.Restarts, st.LastRestart = 1, at(restart)
		return st
	}
	pending := &structs.TaskState{State: structs.TaskStatePending}
	failed := &structs.TaskState{State: structs.TaskStateDead, Failed: true}
	exited := &structs.TaskState{State: structs.TaskStateDead}
	main := &structs.Task{Name: "web"}
	pre := &structs.Task{Name: "init", Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.LifecycleHookPrestart}}
	post := &structs.Task{Name: "cleanup", Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.LifecycleHookPoststop}}
	side := &structs.Task{Name: "proxy", Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.LifecycleHookPrestart, Sidecar: true}}
	passing, critical := checkTally{want: 2, registered: 2, passing: 2}, checkTally{want: 2, registered: 2, passing: 1}
	unregistered := checkTally{want: 2, registered: 1, passing: 1}

	type step struct {
		now     float64
		states  map[string]*structs.TaskState
		checks  checkTally
		decided bool
		healthy bool
		reason  string  // substring, when unhealthy
		wake    float64 // when undecided (0: not checked)
	}
	for _, tc := range []struct {
		name      string
		tasks     []*structs.Task
		useChecks bool
		steps     []step
	}{
		{"task_states: healthy after min_healthy_time", []*structs.Task{main}, false, []step{
			{now: 0, states: map[string]*structs.TaskState{"web": pending}, wake: 60},
			{now: 1, states: map[string]*structs.TaskState{"web": running(1)}, wake: 11},
			{now: 10.9, states: map[string]*structs.TaskState{"web": running(1)}, wake: 11},
			{now: 11, states: map[string]*structs.TaskState{"web": running(1)}, decided: true, healthy: true},
		}},
		{"a restart starts min_healthy_time over", []*structs.Task{main}, false, []step{
			{now: 1, states: map[string]*structs.TaskState{"web": running(1)}, wake: 11},
			{now: 5, states: map[string]*structs.TaskState{"web": pending}, wake: 60},
			{now: 7, states: map[string]*structs.TaskState{"web": restarted(1, 6)}, wake: 17},
			{now: 16, states: map[string]*structs.TaskState{"web": restarted(1, 6)}, wake: 17},
			{now: 17, states: map[string]*structs.TaskState{"web": restarted(1, 6)}, decided: true, healthy: true},
		}},
		{"a restart seen only as a new restart time", []*structs.Task{main}, false, []step{
			{now: 1, states: map[string]*structs.TaskState{"web": running(1)}, wake: 11},
			{now: 8, states: map[string]*structs.TaskState{"web": restarted(1, 7)}, wake: 18},
		}},
		{"a failed task is unhealthy at once", []*structs.Task{main}, false, []step{
			{now: 1, states: map[string]*structs.TaskState{"web": running(1)}, wake: 11},
			{now: 2, states: map[string]*structs.TaskState{"web": failed}, decided: true, reason: `task "web" failed`},
		}},
		{"a main task that exits is unhealthy", []*structs.Task{main}, false, []step{
			{now: 2, states: map[string]*structs.TaskState{"web": exited}, decided: true, reason: `task "web" is dead`},
		}},
		{"healthy_deadline passes first", []*structs.Task{main}, false, []step{
			{now: 0, states: map[string]*structs.TaskState{"web": pending}, wake: 60},
			{now: 60, states: map[string]*structs.TaskState{"web": pending}, decided: true, reason: "not running by healthy_deadline"},
		}},
		{"running, but not for min_healthy_time by the deadline", []*structs.Task{main}, false, []step{
			{now: 55, states: map[string]*structs.TaskState{"web": running(55)}, wake: 60},
			{now: 60, states: map[string]*structs.TaskState{"web": running(55)}, decided: true, reason: "min_healthy_time"},
		}},
		{"prestart must finish, poststop is not counted, sidecars must run", []*structs.Task{pre, side, main, post}, false, []step{
			{now: 1, states: map[string]*structs.TaskState{"init": running(1), "proxy": running(1), "web": pending, "cleanup": pending}, wake: 60},
			{now: 2, states: map[string]*structs.TaskState{"init": exited, "proxy": running(1), "web": running(2), "cleanup": pending}, wake: 12},
			{now: 12, states: map[string]*structs.TaskState{"init": exited, "proxy": running(1), "web": running(2), "cleanup": pending}, decided: true, healthy: true},
		}},
		{"a failed prestart task is unhealthy", []*structs.Task{pre, main}, false, []step{
			{now: 1, states: map[string]*structs.TaskState{"init": failed, "web": pending}, decided: true, reason: `task "init" failed`},
		}},
		{"checks: healthy once they pass for min_healthy_time", []*structs.Task{main}, true, []step{
			{now: 1, states: map[string]*structs.TaskState{"web": running(1)}, checks: unregistered, wake: 60},
			{now: 3, states: map[string]*structs.TaskState{"web": running(1)}, checks: critical, wake: 60},
			{now: 4, states: map[string]*structs.TaskState{"web": running(1)}, checks: passing, wake: 14},
			{now: 14, states: map[string]*structs.TaskState{"web": running(1)}, checks: passing, decided: true, healthy: true},
		}},
		{"checks: a check that fails starts min_healthy_time over", []*structs.Task{main}, true, []step{
			{now: 1, states: map[string]*structs.TaskState{"web": running(1)}, checks: passing, wake: 11},
			{now: 9, states: map[string]*structs.TaskState{"web": running(1)}, checks: critical, wake: 60},
			{now: 10, states: map[string]*structs.TaskState{"web": running(1)}, checks: passing, wake: 20},
		}},
		{"checks not passing by the deadline", []*structs.Task{main}, true, []step{
			{now: 1, states: map[string]*structs.TaskState{"web": running(1)}, checks: critical, wake: 60},
			{now: 60, states: map[string]*structs.TaskState{"web": running(1)}, checks: critical, decided: true, reason: "1 of 2 checks"},
		}},
		{"checks: a group without checks is judged by its tasks", []*structs.Task{main}, true, []step{
			{now: 1, states: map[string]*structs.TaskState{"web": running(1)}, wake: 11},
			{now: 11, states: map[string]*structs.TaskState{"web": running(1)}, decided: true, healthy: true},
		}},
		{"task_states ignores failing checks", []*structs.Task{main}, false, []step{
			{now: 1, states: map[string]*structs.TaskState{"web": running(1)}, checks: critical, wake: 11},
			{now: 11, states: map[string]*structs.TaskState{"web": running(1)}, checks: critical, decided: true, healthy: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c healthClock
			for i, s := range tc.steps {
				v := c.judge(healthView{
					now: at(s.now), deadline: at(60), minHealthy: 10 * time.Second,
					tasks: tc.tasks, states: s.states, useChecks: tc.useChecks, checks: s.checks,
				})
				if v.decided != s.decided || v.healthy != s.healthy {
					t.Fatalf("step %d (t=%v): decided %v healthy %v (%q), want %v %v", i, s.now, v.decided, v.healthy, v.reason, s.decided, s.healthy)
				}
				if s.reason != "" && !strings.Contains(v.reason, s.reason) {
					t.Fatalf("step %d: reason %q, want %q", i, v.reason, s.reason)
				}
				if !s.decided && s.wake != 0 && !v.wake.Equal(at(s.wake)) {
					t.Fatalf("step %d: wake at %v, want %v", i, v.wake.Sub(t0).Seconds(), s.wake)
				}
			}
		})
	}
}

func TestParseHealthMode(t *testing.T) {
	for in, want := range map[string]healthMode{"checks": healthChecks, "": healthChecks, "task_states": healthTaskStates, "manual": healthManual} {
		if got, err := parseHealthMode(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := parseHealthMode("vibes"); err == nil || !strings.Contains(err.Error(), "task_states") {
		t.Errorf("unknown mode: %v", err)
	}
}

// TestCheckOnUpdate: a check's on_update decides what counts as passing for
// deployment health.
func TestCheckOnUpdate(t *testing.T) {
	for _, tc := range []struct {
		status structs.HealthStatus
		mode   structs.OnUpdate
		want   bool
	}{
		{structs.HealthPassing, "", true},
		{structs.HealthWarning, "", false},
		{structs.HealthWarning, structs.OnUpdateRequireHealthy, false},
		{structs.HealthCritical, structs.OnUpdateRequireHealthy, false},
		{"", structs.OnUpdateRequireHealthy, false},
		{structs.HealthWarning, structs.OnUpdateIgnoreWarnings, true},
		{structs.HealthCritical, structs.OnUpdateIgnoreWarnings, false},
		{structs.HealthCritical, structs.OnUpdateIgnore, true},
		{"", structs.OnUpdateIgnore, true},
	} {
		if got := countsAsPassing(tc.status, tc.mode); got != tc.want {
			t.Errorf("%q with on_update %q: %v, want %v", tc.status, tc.mode, got, tc.want)
		}
	}
}
