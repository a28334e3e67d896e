package checks

import (
	"time"

	"github.com/roam-sh/roam/structs"
)

// tracker turns probe results into the status a check reports, counting
// consecutive results against the thresholds:
//
//	passing result:  failures reset; after success_before_passing
//	                 passing results in a row (1 if unset) → passing
//	warning or critical result: successes reset; after
//	                 failures_before_critical of them in a row (1 if unset)
//	                 → that result's status; before that, after
//	                 failures_before_warning of them (if set) → warning
//
// Until then the check keeps the status it had. It is pure: the runner
// feeds it results, tests feed it tables.
type tracker struct {
	status              structs.HealthStatus
	successes, failures int
	beforePassing       int
	beforeCritical      int
	beforeWarning       int
}

func newTracker(c *Check) *tracker {
	return &tracker{
		status:         c.initial(),
		beforePassing:  max(1, c.Def.SuccessBeforePassing),
		beforeCritical: max(1, c.Def.FailuresBeforeCritical),
		beforeWarning:  c.Def.FailuresBeforeWarning,
	}
}

// observe counts one result and returns the status to report and whether
// it changed.
func (t *tracker) observe(r structs.HealthStatus) (structs.HealthStatus, bool) {
	was := t.status
	if r == structs.HealthPassing {
		t.failures = 0
		t.successes++
		if t.successes >= t.beforePassing {
			t.status = structs.HealthPassing
		}
		return t.status, t.status != was
	}
	t.successes = 0
	t.failures++
	switch {
	case t.failures >= t.beforeCritical:
		t.status = r
	case t.beforeWarning > 0 && t.failures >= t.beforeWarning:
		t.status = structs.HealthWarning
	}
	return t.status, t.status != was
}

// restartWatch decides when check_restart restarts the check's task:
// after limit unhealthy statuses in a row (warning counts unless
// ignore_warnings), never within grace of the check's start or of the
// last restart. Pure, like tracker.
type restartWatch struct {
	limit          int
	grace          time.Duration
	ignoreWarnings bool
	unhealthy      int
	graceUntil     time.Time
}

// newRestartWatch returns nil when check_restart is off (no block, or
// limit 0).
func newRestartWatch(c *Check, now time.Time) *restartWatch {
	r := c.Restart
	if r == nil || r.Limit <= 0 {
		return nil
	}
	return &restartWatch{limit: r.Limit, grace: r.Grace, ignoreWarnings: r.IgnoreWarnings, graceUntil: now.Add(r.Grace)}
}

// observe counts the status reported at now and says whether to restart.
func (w *restartWatch) observe(now time.Time, s structs.HealthStatus) bool {
	if now.Before(w.graceUntil) {
		w.unhealthy = 0
		return false
	}
	if s == structs.HealthPassing || (s == structs.HealthWarning && w.ignoreWarnings) {
		w.unhealthy = 0
		return false
	}
	w.unhealthy++
	return w.unhealthy >= w.limit
}

// restarted starts a new grace period after a restart at now.
func (w *restartWatch) restarted(now time.Time) {
	w.unhealthy = 0
	w.graceUntil = now.Add(w.grace)
}
