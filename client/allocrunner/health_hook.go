package allocrunner

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/roam-sh/roam/client/servicereg"
	"github.com/roam-sh/roam/client/taskrunner"
	"github.com/roam-sh/roam/structs"
)

// healthHook decides the health of an allocation that a deployment placed
// (it has a DeploymentID, and its group's update.health_check is checks or
// task_states) and reports it to the servers with the allocation's client
// state (AllocRunner.clientAlloc), where the deployment watcher counts it.
//
// One goroutine per deployment watches the task states, the registered
// service instances and their checks' statuses, and judges on every change
// and at the next moment a verdict can change (healthClock.judge). The
// verdict is final for that deployment: it is saved in the hook's state with
// the time watching began, so a restarted client reports the same health
// again instead of judging anew, and an undecided allocation keeps its
// healthy_deadline. An in-place update into another deployment starts a new
// watch. PreKill, Postrun, Destroy and Shutdown stop watching: an allocation
// being stopped is not judged.
type healthHook struct {
	ar     *AllocRunner
	checks checkStatuses
	logger *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	stopped bool
	watchID string // the deployment watched or decided ("": none)
	cancel  context.CancelFunc
	done    chan struct{}
}

// checkStatuses is what the health watcher reads of the checks hook.
type checkStatuses interface {
	// CheckStatus is a check's latest status ("" before its first).
	CheckStatus(id string) structs.HealthStatus
	// ChecksChanged returns a channel closed at the next status change.
	ChecksChanged() <-chan struct{}
}

// savedHealth is the hook's saved state.
type savedHealth struct {
	DeploymentID string
	// Start is when watching began: healthy_deadline counts from it.
	Start time.Time
	// Healthy and Timestamp, once decided.
	Healthy   *bool     `json:",omitempty"`
	Timestamp time.Time `json:",omitzero"`
}

func newHealthHook(ar *AllocRunner, checks checkStatuses) *healthHook {
	return &healthHook{ar: ar, checks: checks, logger: ar.logger.With("hook", "deployment_health"), now: time.Now}
}

func (h *healthHook) Name() string { return "deployment_health" }

// Prerun reports a health decided before a client restart, or starts
// watching.
func (h *healthHook) Prerun(_ context.Context, req *PrerunRequest, _ *PrerunResponse) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.watchLocked(&req.HookRequest)
	return nil
}

// Update follows the allocation into a new deployment (an in-place update),
// and stops watching once the servers want it stopped.
func (h *healthHook) Update(_ context.Context, req *UpdateRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if stopRequested(req.Alloc) {
		h.stopLocked()
		return nil
	}
	h.watchLocked(&req.HookRequest)
	return nil
}

// watchLocked starts watching the allocation's deployment unless it is the
// one already watched or decided. Called with mu held.
func (h *healthHook) watchLocked(req *HookRequest) {
	a := req.Alloc
	if h.stopped || a.DeploymentID == h.watchID {
		return
	}
	h.cancelLocked()
	if h.stopped { // stopped while the old watch ended (cancelLocked drops mu)
		return
	}
	h.watchID = a.DeploymentID
	h.ar.setDeploymentHealth(nil)
	mode, minHealthy, deadline, ok := healthStrategy(a, h.logger)
	if !ok {
		return
	}
	saved := loadSavedHealth(req.State.Saved())
	if saved.DeploymentID != a.DeploymentID {
		saved = savedHealth{DeploymentID: a.DeploymentID, Start: h.now()}
		h.save(req.State, saved)
	}
	if saved.Healthy != nil {
		// Decided by this client before a restart: report it again,
		// never judge anew (the servers may already have acted on it).
		h.ar.setDeploymentHealth(&structs.AllocDeploymentStatus{Healthy: saved.Healthy, Timestamp: saved.Timestamp})
		return
	}
	if ds := a.DeploymentStatus; ds != nil && ds.Healthy != nil {
		return // the servers have it already (an operator set it)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &healthWatch{
		hook: h, state: req.State, lifecycle: req.Lifecycle, saved: saved, useChecks: mode == healthChecks,
		minHealthy: minHealthy, deadline: saved.Start.Add(deadline),
	}
	h.cancel, h.done = cancel, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		w.run(ctx)
	}(h.done)
}

// healthStrategy is the group's update strategy as the watcher needs it;
// ok is false when the client has nothing to decide (no deployment, no
// strategy, manual health).
func healthStrategy(a *structs.Allocation, logger *slog.Logger) (healthMode, time.Duration, time.Duration, bool) {
	if a.DeploymentID == "" {
		return healthManual, 0, 0, false
	}
	tg := a.LookupTaskGroup()
	u := (*structs.UpdateStrategy)(nil)
	if tg != nil && tg.Update != nil {
		u = tg.Update
	} else if a.Job != nil && a.Job.Update != (structs.UpdateStrategy{}) {
		u = &a.Job.Update
	}
	if u == nil {
		return healthManual, 0, 0, false
	}
	mode, err := parseHealthMode(u.HealthCheck)
	if err != nil {
		logger.Warn("allocation health not watched", "error", err)
		return healthManual, 0, 0, false
	}
	deadline := u.HealthyDeadline
	if deadline <= 0 {
		deadline = structs.DefaultUpdateStrategy().HealthyDeadline
	}
	return mode, u.MinHealthyTime, deadline, mode != healthManual
}

// decided records the verdict: saved first (a restarted client reports the
// same), then handed to the runner, which sends it to the servers.
func (h *healthHook) decided(ctx context.Context, w *healthWatch, v verdict) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ctx.Err() != nil { // cancelled (stopped, or another deployment) while judging
		return
	}
	healthy := v.healthy
	w.saved.Healthy, w.saved.Timestamp = &healthy, h.now().UTC()
	h.save(w.state, w.saved)
	h.ar.setDeploymentHealth(&structs.AllocDeploymentStatus{Healthy: &healthy, Timestamp: w.saved.Timestamp})
	if healthy {
		h.logger.Info("allocation healthy", "deployment_id", w.saved.DeploymentID)
		return
	}
	h.logger.Warn("allocation unhealthy", "deployment_id", w.saved.DeploymentID, "reason", v.reason)
	for _, t := range h.ar.tasks {
		ev := structs.NewTaskEvent(structs.TaskAllocUnhealthy)
		ev.Message = v.reason
		_ = w.lifecycle.EmitTaskEvent(t.Name, ev)
	}
}

func (h *healthHook) save(st *taskrunner.HookState, s savedHealth) {
	b, err := json.Marshal(s)
	if err == nil {
		err = st.Save(b)
	}
	if err != nil {
		h.logger.Warn("saving allocation health", "error", err)
	}
}

func loadSavedHealth(b []byte) savedHealth {
	var s savedHealth
	if len(b) > 0 {
		_ = json.Unmarshal(b, &s) // a damaged blob: watch again
	}
	return s
}

// cancelLocked ends the watch under way and waits for it. The watcher
// takes mu only in decided, which gives up once cancelled, so the wait
// ends: it is done with mu released.
func (h *healthHook) cancelLocked() {
	cancel, done := h.cancel, h.done
	h.cancel, h.done = nil, nil
	if cancel == nil {
		return
	}
	cancel()
	h.mu.Unlock()
	<-done
	h.mu.Lock()
}

func (h *healthHook) stopLocked() {
	h.stopped = true
	h.cancelLocked()
}

func (h *healthHook) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopLocked()
}

// PreKill stops watching: tasks killed on purpose do not make the
// allocation unhealthy.
func (h *healthHook) PreKill(context.Context, *PreKillRequest) { h.stop() }

// Postrun stops watching once every task is dead.
func (h *healthHook) Postrun(context.Context, *PostrunRequest) error {
	h.stop()
	return nil
}

// Destroy stops what may still run.
func (h *healthHook) Destroy(context.Context, *DestroyRequest) error {
	h.stop()
	return nil
}

// Shutdown stops watching; the saved state lets the next client process
// go on with the same deadline.
func (h *healthHook) Shutdown() { h.stop() }

// healthWatch is one deployment's watch.
type healthWatch struct {
	hook       *healthHook
	state      *taskrunner.HookState
	lifecycle  Lifecycle
	saved      savedHealth
	useChecks  bool
	minHealthy time.Duration
	deadline   time.Time
	clock      healthClock
}

// run judges on every change of the task states, the instances or the
// checks, and at the time the verdict would change, until decided.
func (w *healthWatch) run(ctx context.Context) {
	ar := w.hook.ar
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		tasksCh, instCh, checksCh := ar.taskStatesChanged(), ar.instances.Changed(), w.hook.checks.ChecksChanged()
		v := w.clock.judge(healthView{
			now: w.hook.now(), deadline: w.deadline, minHealthy: w.minHealthy,
			tasks: ar.tasks, states: ar.TaskStates(), useChecks: w.useChecks, checks: w.tally(),
		})
		if v.decided {
			w.hook.decided(ctx, w, v)
			return
		}
		timer.Reset(time.Until(v.wake))
		select {
		case <-ctx.Done():
			return
		case <-tasksCh:
		case <-instCh:
		case <-checksCh:
		case <-timer.C:
		}
	}
}

// tally counts the checks of the group's service blocks (group services,
// and those of the tasks that count for health: not the ephemeral
// lifecycle tasks) against the registered instances' checks and their
// statuses.
func (w *healthWatch) tally() checkTally {
	var c checkTally
	if !w.useChecks {
		return c
	}
	a := w.hook.ar.currentAlloc()
	tg := a.LookupTaskGroup()
	if tg == nil {
		return c
	}
	counted := map[string]bool{"": true} // group services
	c.want = countChecks(tg.Services)
	for _, t := range tg.Tasks {
		if t.Lifecycle == nil || t.Lifecycle.Sidecar {
			counted[t.Name] = true
			c.want += countChecks(t.Services)
		}
	}
	for _, in := range w.hook.ar.instances.Snapshot() {
		if !counted[in.Registration.TaskName] {
			continue
		}
		for i, def := range in.Service.Checks {
			if def == nil {
				continue
			}
			c.registered++
			mode := def.OnUpdate
			if mode == "" {
				mode = in.Service.OnUpdate
			}
			if countsAsPassing(w.hook.checks.CheckStatus(servicereg.CheckID(in.Registration.ID, i)), mode) {
				c.passing++
			}
		}
	}
	return c
}

// countsAsPassing applies a check's on_update (or its service's) to its
// status: require_healthy (the default) counts only passing;
// ignore_warnings counts a warning as passing; ignore counts the check as
// passing whatever it says, even before its first result.
func countsAsPassing(st structs.HealthStatus, mode structs.OnUpdate) bool {
	switch {
	case mode == structs.OnUpdateIgnore:
		return true
	case st == structs.HealthPassing:
		return true
	case st == structs.HealthWarning:
		return mode == structs.OnUpdateIgnoreWarnings
	}
	return false
}

func countChecks(svcs []*structs.Service) int {
	n := 0
	for _, s := range svcs {
		if s == nil {
			continue
		}
		for _, c := range s.Checks {
			if c != nil {
				n++
			}
		}
	}
	return n
}
