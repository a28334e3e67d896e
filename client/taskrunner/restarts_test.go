package taskrunner

import (
	"errors"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func tracker(p *structs.RestartPolicy, jt structs.JobType, lc *structs.TaskLifecycleConfig) (*RestartTracker, *fakeClock) {
	c := &fakeClock{t: time.Unix(1000, 0)}
	rt := NewRestartTracker(p, jt, lc)
	rt.now = c.now
	rt.jitter = func(int64) int64 { return 0 }
	return rt, c
}

var (
	failed  = &drivers.ExitResult{ExitCode: 1}
	success = &drivers.ExitResult{}
)

func TestRestartAttemptsThenFail(t *testing.T) {
	p := &structs.RestartPolicy{Attempts: 2, Interval: time.Minute, Delay: time.Second, Mode: structs.RestartModeFail}
	rt, clock := tracker(p, structs.JobTypeService, nil)
	for i := range 2 {
		d, reason, delay := rt.OnExit(failed)
		if d != DecisionRestart || reason != ReasonWithinPolicy || delay != time.Second {
			t.Fatalf("attempt %d: %v %q %v", i, d, reason, delay)
		}
		clock.advance(time.Second)
	}
	d, reason, _ := rt.OnExit(failed)
	if d != DecisionFail || reason != `Exceeded allowed attempts 2 in interval 1m0s and mode is "fail"` {
		t.Fatalf("third failure: %v %q", d, reason)
	}
}

func TestRestartWindowResets(t *testing.T) {
	p := &structs.RestartPolicy{Attempts: 1, Interval: time.Minute, Delay: time.Second, Mode: structs.RestartModeFail}
	rt, clock := tracker(p, structs.JobTypeService, nil)
	if d, _, _ := rt.OnExit(failed); d != DecisionRestart {
		t.Fatal("first failure should restart")
	}
	clock.advance(2 * time.Minute)
	if d, _, _ := rt.OnExit(failed); d != DecisionRestart {
		t.Fatal("failure in a new interval should restart")
	}
}

func TestRestartDelayModeTracker(t *testing.T) {
	p := &structs.RestartPolicy{Attempts: 1, Interval: time.Minute, Delay: time.Second, Mode: structs.RestartModeDelay}
	rt, clock := tracker(p, structs.JobTypeService, nil)
	rt.OnExit(failed)
	clock.advance(10 * time.Second)
	d, reason, delay := rt.OnExit(failed)
	if d != DecisionRestart || reason != ReasonDelay || delay != 50*time.Second {
		t.Fatalf("got %v %q %v, want a restart at the end of the interval", d, reason, delay)
	}
}

func TestRestartOnSuccess(t *testing.T) {
	p := &structs.RestartPolicy{Attempts: 2, Interval: time.Minute, Delay: time.Second, Mode: structs.RestartModeFail}
	tests := []struct {
		name string
		jt   structs.JobType
		lc   *structs.TaskLifecycleConfig
		want Decision
	}{
		{"service restarts", structs.JobTypeService, nil, DecisionRestart},
		{"batch done", structs.JobTypeBatch, nil, DecisionDone},
		{"sysbatch done", structs.JobTypeSysbatch, nil, DecisionDone},
		{"prestart done", structs.JobTypeService, &structs.TaskLifecycleConfig{Hook: structs.LifecycleHookPrestart}, DecisionDone},
		{"prestart sidecar restarts", structs.JobTypeService, &structs.TaskLifecycleConfig{Hook: structs.LifecycleHookPrestart, Sidecar: true}, DecisionRestart},
		{"batch poststart sidecar restarts", structs.JobTypeBatch, &structs.TaskLifecycleConfig{Hook: structs.LifecycleHookPoststart, Sidecar: true}, DecisionRestart},
		{"poststop done", structs.JobTypeService, &structs.TaskLifecycleConfig{Hook: structs.LifecycleHookPoststop, Sidecar: true}, DecisionDone},
	}
	for _, tc := range tests {
		rt, _ := tracker(p, tc.jt, tc.lc)
		if d, _, _ := rt.OnExit(success); d != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, d, tc.want)
		}
	}
}

func TestRestartNoAttemptsAndStartErrors(t *testing.T) {
	rt, _ := tracker(&structs.RestartPolicy{Attempts: 0, Mode: structs.RestartModeFail}, structs.JobTypeService, nil)
	if d, reason, _ := rt.OnExit(failed); d != DecisionFail || reason != ReasonNoRestartsAllowed {
		t.Fatalf("no attempts: %v %q", d, reason)
	}
	p := &structs.RestartPolicy{Attempts: 2, Interval: time.Minute, Delay: time.Second, Mode: structs.RestartModeFail}
	rt, _ = tracker(p, structs.JobTypeService, nil)
	if d, reason, _ := rt.OnStartError(errors.New("boom")); d != DecisionFail || reason != ReasonUnrecoverable {
		t.Fatalf("unrecoverable: %v %q", d, reason)
	}
	if d, _, _ := rt.OnStartError(drivers.NewRecoverableError(errors.New("busy"))); d != DecisionRestart {
		t.Fatalf("recoverable: %v", d)
	}
}

func TestRestartJitterBounded(t *testing.T) {
	p := &structs.RestartPolicy{Attempts: 100, Interval: time.Hour, Delay: 4 * time.Second, Mode: structs.RestartModeFail}
	rt := NewRestartTracker(p, structs.JobTypeService, nil)
	for range 50 {
		_, _, d := rt.OnExit(failed)
		if d < 4*time.Second || d >= 5*time.Second {
			t.Fatalf("delay %v outside [4s, 5s)", d)
		}
	}
}
