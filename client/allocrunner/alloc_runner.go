package allocrunner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/roam-sh/roam/client/allocdir"
	"github.com/roam-sh/roam/client/servicereg"
	"github.com/roam-sh/roam/client/taskenv"
	"github.com/roam-sh/roam/client/taskrunner"
	"github.com/roam-sh/roam/structs"
)

// AllocRunner runs one allocation on the client: its hooks, one task runner per
// task in lifecycle order, the reactions to task deaths (sibling failed,
// leader dead, main tasks dead), and the client status it reports.
type AllocRunner struct {
	cfg           Config
	id            string
	logger        *slog.Logger
	allocDir      *allocdir.AllocDir
	hookResources *taskrunner.AllocHookResources
	hooks         []RunnerHook
	hookMu        sync.Mutex // serialises hook stages
	// Guarded by hookMu: the group network the network hook set up (nil
	// until then), handed to later hooks; the builder of the allocation's
	// environment; each hook's saved state.
	network *NetworkResult
	// instances are the services the group and its tasks registered, for
	// the check runner (ServiceInstances).
	instances  *servicereg.Instances
	envBuilder *taskenv.Builder
	hookStates *taskrunner.HookStates
	// ctx is the runner's context (hooks.go): it ends when the allocation
	// is stopped, destroyed or the runner shut down. teardownCtx serves the
	// stages that stop the allocation, so it ends only on Shutdown.
	ctx            context.Context
	cancel         context.CancelFunc
	teardownCtx    context.Context
	teardownCancel context.CancelFunc

	allocMu sync.RWMutex
	alloc   *structs.Allocation

	// tasks in the group's order; runners by name. Both fixed at New.
	tasks   []*structs.Task
	runners map[string]*taskrunner.TaskRunner

	taskStateCh chan struct{}            // a task's state changed (coalesced)
	taskNotify  notifier                 // the same, for hooks that watch task states
	updateCh    chan *structs.Allocation // latest in-place update (coalesced)

	// Owned by the coordinator goroutine.
	gates gates

	mu              sync.Mutex
	stopping        bool // an alloc-wide kill (stop, destroy, prerun failure) began
	failureHandled  bool
	leaderHandled   bool
	mainDeadHandled bool
	runningHandled  bool
	started         bool
	// health is the deployment health the health hook decided (nil:
	// undecided, or no deployment), reported with the client state.
	health *structs.AllocDeploymentStatus

	waitCh       chan struct{} // Run returned
	shutdownCh   chan struct{}
	shutdownOnce sync.Once
	destroyCh    chan struct{} // destroyed: hooks ran, state deleted
	destroyOnce  sync.Once
}

// New builds an alloc runner and its task runners; Run starts them.
func New(cfg Config) (*AllocRunner, error) {
	a := cfg.Alloc
	if a == nil || a.Job == nil {
		return nil, errors.New("alloc runner: allocation with its job is required")
	}
	tg := a.LookupTaskGroup()
	if tg == nil {
		return nil, fmt.Errorf("alloc %s: task group %q not in job %q", a.ID, a.TaskGroup, a.JobID)
	}
	ar := &AllocRunner{
		cfg: cfg, id: a.ID, alloc: a, tasks: tg.Tasks,
		logger:        cfg.Logger.With("component", "alloc_runner", "alloc_id", a.ID),
		hookResources: &taskrunner.AllocHookResources{},
		runners:       map[string]*taskrunner.TaskRunner{},
		instances:     servicereg.NewInstances(),
		taskStateCh:   make(chan struct{}, 1), updateCh: make(chan *structs.Allocation, 1),
		waitCh: make(chan struct{}), shutdownCh: make(chan struct{}), destroyCh: make(chan struct{}),
	}
	ar.allocDir = allocdir.New(cfg.AllocDirRoot, a.ID, ar.logger)
	ar.ctx, ar.cancel = context.WithCancel(context.Background())
	ar.teardownCtx, ar.teardownCancel = context.WithCancel(context.Background())
	ar.envBuilder = taskenv.NewBuilder(cfg.Node, a, nil, cfg.Region)
	saved, err := cfg.StateDB.AllocHookStates(a.ID)
	if err != nil {
		return nil, fmt.Errorf("alloc %s: %w", a.ID, err)
	}
	ar.hookStates = taskrunner.NewHookStates(saved, func(hook string, b []byte) error {
		return cfg.StateDB.PutAllocHookState(a.ID, hook, b)
	})
	ar.hooks = ar.initHooks()
	for _, t := range tg.Tasks {
		tr, err := ar.newTaskRunner(t)
		if err != nil {
			return nil, fmt.Errorf("alloc %s: task %s: %w", a.ID, t.Name, err)
		}
		ar.runners[t.Name] = tr
	}
	return ar, nil
}

func (ar *AllocRunner) newTaskRunner(t *structs.Task) (*taskrunner.TaskRunner, error) {
	driver, _ := ar.cfg.Drivers.Get(t.Driver)
	restored := ar.cfg.Restored[t.Name]
	return taskrunner.New(taskrunner.Config{
		Alloc: ar.cfg.Alloc, Task: t, AllocDir: ar.allocDir, Driver: driver,
		Node: ar.cfg.Node, Region: ar.cfg.Region, HostEnv: ar.cfg.HostEnv, EnvDenylist: ar.cfg.EnvDenylist,
		MaxKillTimeout: ar.cfg.MaxKillTimeout, Artifacts: ar.cfg.Artifacts, Templates: ar.cfg.Templates, StateDB: ar.cfg.StateDB, Updater: ar,
		HookResources: ar.hookResources, RestoredState: restored.State, RestoredLocal: restored.Local,
		Services: ar.cfg.Services, ServiceInstances: ar.instances,
		Logger: ar.logger,
	})
}

// TaskStateUpdated is called by task runners; it only wakes the coordinator.
func (ar *AllocRunner) TaskStateUpdated() {
	select {
	case ar.taskStateCh <- struct{}{}:
	default:
	}
}

// Run runs the allocation until every task is dead or the runner is shut
// down. It is called once, in its own goroutine; WaitCh closes when it ends.
func (ar *AllocRunner) Run() {
	defer close(ar.waitCh)
	ar.mu.Lock()
	ar.started = true
	ar.mu.Unlock()
	coordDone := make(chan struct{})
	stopCoord := make(chan struct{})
	go func() { defer close(coordDone); ar.coordinate(stopCoord) }()
	go ar.handleUpdates()

	finished := ar.allTasksDead()
	if !finished {
		ar.prepare()
	}
	for _, tr := range ar.runners {
		go tr.Run()
	}
	ar.TaskStateUpdated()
	if ar.desiredStop() {
		go ar.stop(false)
	}
	for _, tr := range ar.runners {
		<-tr.WaitCh()
	}
	if !ar.isShutdown() && !finished {
		ar.postrun()
	}
	close(stopCoord)
	<-coordDone
}

// prepare runs the prerun hooks and, when they found the group's namespace
// made anew under tasks about to be re-attached, the network movers.
func (ar *AllocRunner) prepare() {
	err := ar.prerun()
	switch {
	case err != nil && ar.ctx.Err() != nil:
		// Stopped, destroyed or shut down while preparing: the stop kills
		// the tasks, a shutdown leaves them be; neither is a failure.
		ar.logger.Info("prerun interrupted", "error", err)
	case err != nil:
		ar.logger.Error("prerun failed", "error", err)
		go ar.failAll(err)
	default:
		ar.rejoinRecovered()
	}
}

// coordinate reacts to task state changes until Run is done, then reports
// the final state once more.
func (ar *AllocRunner) coordinate(stop <-chan struct{}) {
	for {
		select {
		case <-ar.taskStateCh:
			ar.onTaskStateChange()
		case <-stop:
			if !ar.isShutdown() {
				ar.onTaskStateChange()
			}
			return
		}
	}
}

func (ar *AllocRunner) onTaskStateChange() {
	states := ar.TaskStates()
	ar.taskNotify.notify()
	ar.handleDeaths(states)
	ar.handleRunning(states)
	for _, name := range ar.gates.update(ar.tasks, states) {
		if ar.runnerStartable(name) {
			ar.runners[name].AllowStart()
		}
	}
	ar.cfg.StateUpdater.AllocStateUpdated(ar.clientAlloc(states))
}

// runnerStartable: once the allocation is stopping, only poststop tasks may
// still start, and only if the main tasks were ever allowed to.
func (ar *AllocRunner) runnerStartable(name string) bool {
	ar.mu.Lock()
	stopping := ar.stopping
	ar.mu.Unlock()
	if !stopping {
		return true
	}
	t := ar.runners[name].Task()
	return t.IsPoststop() && ar.gates.mainReached()
}

// handleDeaths kills siblings of a failed task, followers of a dead leader,
// and what is left running once every main task is dead.
func (ar *AllocRunner) handleDeaths(states map[string]*structs.TaskState) {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	for _, t := range ar.tasks {
		st := states[t.Name]
		if !isDead(st) {
			continue
		}
		if st.Failed && !ar.failureHandled {
			ar.failureHandled = true
			name := t.Name
			go ar.killTasks(func() *structs.TaskEvent { return taskrunner.NewSiblingFailedEvent(name) }, notPoststop)
		}
		if t.Leader && !ar.leaderHandled {
			ar.leaderHandled = true
			go ar.killTasks(taskrunner.NewLeaderDeadEvent, notPoststop)
		}
	}
	if !ar.mainDeadHandled && allMainDead(ar.tasks, states) {
		ar.mainDeadHandled = true
		go ar.killTasks(taskrunner.NewMainDeadEvent, notPoststop)
	}
}

// handleRunning runs the Running hooks once every main task runs.
func (ar *AllocRunner) handleRunning(states map[string]*structs.TaskState) {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	if ar.runningHandled || ar.stopping || !allMainRunning(ar.tasks, states) {
		return
	}
	ar.runningHandled = true
	go ar.running()
}

// ServiceInstances are the service instances the group and its tasks
// registered: what the check runner checks.
func (ar *AllocRunner) ServiceInstances() *servicereg.Instances { return ar.instances }

func notPoststop(t *structs.Task) bool { return !t.IsPoststop() }

// killTasks kills the tasks include selects, phase by phase (killPhases), and
// returns when they are dead. Tasks already dead or being killed are left be.
func (ar *AllocRunner) killTasks(event func() *structs.TaskEvent, include func(*structs.Task) bool) {
	for _, phase := range killPhases() {
		var wg sync.WaitGroup
		for _, t := range ar.tasks {
			if phase.match(t) && include(t) {
				tr := ar.runners[t.Name]
				wg.Go(func() { _ = tr.Kill(context.Background(), event()) })
			}
		}
		wg.Wait()
	}
}

func (ar *AllocRunner) allTasksDead() bool {
	for _, st := range ar.TaskStates() {
		if !isDead(st) {
			return false
		}
	}
	return true
}

func (ar *AllocRunner) isShutdown() bool {
	select {
	case <-ar.shutdownCh:
		return true
	default:
		return false
	}
}

// TaskStates returns a copy of every task's state.
func (ar *AllocRunner) TaskStates() map[string]*structs.TaskState {
	out := make(map[string]*structs.TaskState, len(ar.runners))
	for name, tr := range ar.runners {
		out[name] = tr.TaskState()
	}
	return out
}

// clientAlloc is the client-side view of the allocation sent to the servers.
func (ar *AllocRunner) clientAlloc(states map[string]*structs.TaskState) *structs.Allocation {
	status, desc := ClientStatus(states)
	return &structs.Allocation{
		ID: ar.id, ClientStatus: status, ClientDescription: desc, TaskStates: states,
		NetworkStatus: ar.hookResources.NetworkStatus(), DeploymentStatus: ar.deploymentHealth(),
		ModifyTime: time.Now().UnixNano(),
	}
}

// setDeploymentHealth records the health the health hook decided (nil:
// none yet) and sends it to the servers with the client state.
func (ar *AllocRunner) setDeploymentHealth(ds *structs.AllocDeploymentStatus) {
	ar.mu.Lock()
	ar.health = ds
	ar.mu.Unlock()
	if ds != nil {
		ar.TaskStateUpdated()
	}
}

// deploymentHealth is the decided health as the servers are told it, with
// Canary as the servers last said (they keep their own anyway: Canary is
// theirs to set and clear); nil while undecided.
func (ar *AllocRunner) deploymentHealth() *structs.AllocDeploymentStatus {
	ar.mu.Lock()
	h := ar.health
	ar.mu.Unlock()
	if h == nil {
		return nil
	}
	ds := *h
	if cur := ar.currentAlloc().DeploymentStatus; cur != nil {
		ds.Canary = cur.Canary
	}
	return &ds
}

// taskStatesChanged returns a channel closed at the next task state change.
func (ar *AllocRunner) taskStatesChanged() <-chan struct{} { return ar.taskNotify.changed() }

// Alloc returns the allocation as the client sees it: the servers' version
// with the client status and task states filled in.
func (ar *AllocRunner) Alloc() *structs.Allocation {
	// A shallow copy: the job and resources are shared and must be treated as
	// read-only. (structs.Allocation.Copy briefly mutates its receiver, which
	// is not safe on an allocation other goroutines read.)
	ar.allocMu.RLock()
	cp := *ar.alloc
	ar.allocMu.RUnlock()
	a := &cp
	c := ar.clientAlloc(ar.TaskStates())
	a.ClientStatus, a.ClientDescription, a.TaskStates = c.ClientStatus, c.ClientDescription, c.TaskStates
	if c.DeploymentStatus != nil {
		a.DeploymentStatus = c.DeploymentStatus
	}
	if c.NetworkStatus != nil {
		a.NetworkStatus = c.NetworkStatus
	}
	return a
}

// currentAlloc is the servers' latest version of the allocation.
func (ar *AllocRunner) currentAlloc() *structs.Allocation {
	ar.allocMu.RLock()
	defer ar.allocMu.RUnlock()
	return ar.alloc
}

// desiredStop reports whether the servers want the allocation stopped. Only
// the desired status counts: the client status in the servers' copy is just
// what this client reported.
func (ar *AllocRunner) desiredStop() bool {
	ar.allocMu.RLock()
	defer ar.allocMu.RUnlock()
	return stopRequested(ar.alloc)
}

func stopRequested(a *structs.Allocation) bool {
	return a.DesiredStatus == structs.AllocDesiredStatusStop || a.DesiredStatus == structs.AllocDesiredStatusEvict
}

// ID is the allocation's ID.
func (ar *AllocRunner) ID() string { return ar.id }

// AllocDir is the allocation's directory.
func (ar *AllocRunner) AllocDir() *allocdir.AllocDir { return ar.allocDir }

// TaskRunner returns the named task's runner, or nil.
func (ar *AllocRunner) TaskRunner(name string) *taskrunner.TaskRunner { return ar.runners[name] }

// WaitCh is closed when Run returns.
func (ar *AllocRunner) WaitCh() <-chan struct{} { return ar.waitCh }

// DestroyCh is closed once Destroy has finished.
func (ar *AllocRunner) DestroyCh() <-chan struct{} { return ar.destroyCh }
