package taskrunner

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
)

// Reasons the restart tracker gives; users see them in task events.
const (
	ReasonNoRestartsAllowed = "Policy allows no restarts"
	ReasonUnrecoverable     = "Error was unrecoverable"
	ReasonWithinPolicy      = "Restart within policy"
	ReasonDelay             = "Exceeded allowed attempts, applying a delay"
	ReasonSuccess           = "Restart unnecessary as task terminated successfully"
)

// restartJitter is the largest fraction of the delay added at random, so tasks
// failing together do not restart in lockstep.
const restartJitter = 0.25

// Decision is what the restart tracker decided after a task stopped.
type Decision int

const (
	// DecisionRestart: start the task again after Delay.
	DecisionRestart Decision = iota
	// DecisionFail: do not restart; the task has failed.
	DecisionFail
	// DecisionDone: do not restart; the task finished successfully.
	DecisionDone
)

func (d Decision) String() string {
	return [...]string{"restart", "fail", "done"}[d]
}

// RestartTracker applies a restart block: at most Attempts restarts within
// Interval, each after Delay (plus jitter); once attempts run out, mode "fail"
// fails the task and mode "delay" waits for the interval to end.
type RestartTracker struct {
	policy *structs.RestartPolicy
	// onSuccess: whether a successful exit is restarted too (service tasks) or
	// means the task is done (batch jobs, non-sidecar lifecycle tasks).
	onSuccess bool
	count     int
	startTime time.Time
	now       func() time.Time
	jitter    func(max int64) int64
}

// NewRestartTracker builds the tracker for a task of a job of jobType.
func NewRestartTracker(policy *structs.RestartPolicy, jobType structs.JobType, lc *structs.TaskLifecycleConfig) *RestartTracker {
	onSuccess := !jobType.RunsToCompletion()
	if lc != nil && lc.Hook != "" {
		// Sidecars run for the allocation's lifetime; other lifecycle tasks
		// run to completion, and poststop tasks never run twice.
		onSuccess = lc.Sidecar && lc.Hook != structs.LifecycleHookPoststop
	}
	return &RestartTracker{
		policy: policy, onSuccess: onSuccess, now: time.Now,
		jitter: func(max int64) int64 { return rand.Int64N(max) },
	}
}

// OnExit decides what follows a task's exit.
func (r *RestartTracker) OnExit(res *drivers.ExitResult) (Decision, string, time.Duration) {
	if res != nil && res.Successful() && !r.onSuccess {
		return DecisionDone, ReasonSuccess, 0
	}
	return r.next()
}

// OnStartError decides what follows a failure to start the task.
func (r *RestartTracker) OnStartError(err error) (Decision, string, time.Duration) {
	if !drivers.IsRecoverable(err) {
		return DecisionFail, ReasonUnrecoverable, 0
	}
	return r.next()
}

func (r *RestartTracker) next() (Decision, string, time.Duration) {
	p := r.policy
	if p == nil || p.Attempts == 0 {
		return DecisionFail, ReasonNoRestartsAllowed, 0
	}
	now := r.now()
	if r.startTime.IsZero() || now.After(r.startTime.Add(p.Interval)) {
		r.count, r.startTime = 0, now
	}
	r.count++
	if r.count <= p.Attempts {
		return DecisionRestart, ReasonWithinPolicy, r.jittered(p.Delay)
	}
	if p.Mode == structs.RestartModeDelay {
		return DecisionRestart, ReasonDelay, r.startTime.Add(p.Interval).Sub(now)
	}
	return DecisionFail, fmt.Sprintf("Exceeded allowed attempts %d in interval %v and mode is %q", p.Attempts, p.Interval, p.Mode), 0
}

func (r *RestartTracker) jittered(d time.Duration) time.Duration {
	if max := int64(float64(d) * restartJitter); max > 0 {
		return d + time.Duration(r.jitter(max))
	}
	return d
}
