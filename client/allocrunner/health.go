package allocrunner

import (
	"fmt"
	"strings"
	"time"

	"github.com/roam-sh/roam/structs"
)

// healthMode is a group's update.health_check: what decides whether an
// allocation placed by a deployment is healthy.
type healthMode int

const (
	// healthManual: the operator decides (/v1/deployment/allocation-health);
	// the client watches nothing.
	healthManual healthMode = iota
	// healthTaskStates: every task runs for min_healthy_time.
	healthTaskStates
	// healthChecks: that, and every service check of the group passes for
	// min_healthy_time.
	healthChecks
)

func (m healthMode) String() string {
	switch m {
	case healthTaskStates:
		return "task_states"
	case healthChecks:
		return "checks"
	}
	return "manual"
}

// parseHealthMode reads update.health_check; "" is Nomad's default, checks.
func parseHealthMode(s string) (healthMode, error) {
	switch s {
	case "checks", "":
		return healthChecks, nil
	case "task_states":
		return healthTaskStates, nil
	case "manual":
		return healthManual, nil
	}
	return healthManual, fmt.Errorf("unknown health_check %q (want one of %s)", s, strings.Join(structs.UpdateHealthChecks(), ", "))
}

// healthView is what the health watcher sees at one moment.
type healthView struct {
	now        time.Time
	deadline   time.Time // healthy_deadline, counted from the start of watching
	minHealthy time.Duration
	tasks      []*structs.Task
	states     map[string]*structs.TaskState
	useChecks  bool
	checks     checkTally
}

// checkTally counts the group's service checks: how many its service blocks
// have (want), how many are registered and how many of those pass.
type checkTally struct{ want, registered, passing int }

func (c checkTally) allPassing() bool { return c.registered >= c.want && c.passing == c.registered }

func (c checkTally) String() string {
	return fmt.Sprintf("%d of %d checks registered and passing", c.passing, c.want)
}

// verdict is what the watcher concludes from one view.
type verdict struct {
	decided bool
	healthy bool
	reason  string // why unhealthy, for the tasks' events
	// wake is when to look again if nothing changes before (undecided only).
	wake time.Time
}

// healthClock remembers, from one view to the next, since when the tasks
// and the checks have been ready: min_healthy_time counts from the moment
// the watcher saw them ready, and starts over when a task restarts or a
// check stops passing. It is the watcher's only memory, so judge stays a
// pure function of it and the view (table-tested).
type healthClock struct {
	lastStart   time.Time // the latest task (re)start seen
	tasksSince  time.Time // zero: the tasks are not ready
	checksSince time.Time // zero: the checks are not all passing
}

// judge decides from the view: unhealthy as soon as a task fails or a main
// task ends, or when the deadline passes first; healthy once the tasks (and
// with checks, the checks) have been ready for min_healthy_time.
func (c *healthClock) judge(v healthView) verdict {
	ready, start, failure := taskReadiness(v.tasks, v.states)
	if failure != "" {
		return verdict{decided: true, reason: failure}
	}
	switch {
	case !ready:
		c.tasksSince = time.Time{}
	case c.tasksSince.IsZero() || !start.Equal(c.lastStart):
		c.tasksSince, c.lastStart = v.now, start
	}
	switch {
	case !v.useChecks || !v.checks.allPassing():
		c.checksSince = time.Time{}
	case c.checksSince.IsZero():
		c.checksSince = v.now
	}
	healthyAt, ok := c.healthyAt(v)
	if ok && !v.now.Before(healthyAt) {
		return verdict{decided: true, healthy: true}
	}
	if !v.now.Before(v.deadline) {
		return verdict{decided: true, reason: c.lateReason(v, ready)}
	}
	wake := v.deadline
	if ok && healthyAt.Before(wake) {
		wake = healthyAt
	}
	return verdict{wake: wake}
}

// healthyAt is when the allocation becomes healthy if nothing changes.
func (c *healthClock) healthyAt(v healthView) (time.Time, bool) {
	if c.tasksSince.IsZero() || (v.useChecks && c.checksSince.IsZero()) {
		return time.Time{}, false
	}
	since := c.tasksSince
	if v.useChecks && c.checksSince.After(since) {
		since = c.checksSince
	}
	return since.Add(v.minHealthy), true
}

// lateReason says what was missing when healthy_deadline passed.
func (c *healthClock) lateReason(v healthView, ready bool) string {
	switch {
	case !ready:
		return "Tasks not running by healthy_deadline"
	case v.useChecks && !v.checks.allPassing():
		return "Services not healthy by healthy_deadline: " + v.checks.String()
	}
	return "Not healthy for min_healthy_time of " + v.minHealthy.String() + " by healthy_deadline"
}

// taskReadiness reports whether every task the allocation's health counts
// is where it should be, the latest (re)start among them, and why the
// allocation is unhealthy for good ("" if it is not):
//
//	poststop                 not counted: it runs after the main tasks
//	prestart (not sidecar)   must have finished successfully
//	poststart (not sidecar)  running, or finished successfully
//	main, sidecars           running; dead is unhealthy
//	any failed task          unhealthy
func taskReadiness(tasks []*structs.Task, states map[string]*structs.TaskState) (bool, time.Time, string) {
	ready, latest := true, time.Time{}
	for _, t := range tasks {
		st := states[t.Name]
		if t.IsPoststop() {
			continue
		}
		if st == nil {
			ready = false
			continue
		}
		if st.Failed {
			return false, time.Time{}, fmt.Sprintf("Unhealthy because task %q failed", t.Name)
		}
		ephemeral := t.Lifecycle != nil && !t.Lifecycle.Sidecar
		switch {
		case ephemeral && st.State == structs.TaskStateDead:
			continue
		case t.IsPrestart() && ephemeral:
			ready = false // still running or pending: main tasks have not started
		case st.State == structs.TaskStateDead:
			return false, time.Time{}, fmt.Sprintf("Unhealthy because task %q is dead", t.Name)
		case st.State != structs.TaskStateRunning:
			ready = false
		default:
			latest = laterOf(latest, laterOf(st.StartedAt, st.LastRestart))
		}
	}
	return ready, latest, ""
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
