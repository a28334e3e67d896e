package checks

import (
	"context"
	"fmt"
	"github.com/roam-sh/roam/structs"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"
)

// Change is a check's reported status changing (or, once per check when
// it starts, the status it starts from: Result is then zero).
type Change struct {
	Check  *Check
	Status structs.HealthStatus
	Result Result
}

// State is what the runner knows of one check now.
type State struct {
	Check *Check
	// Status is the reported status (after the thresholds).
	Status structs.HealthStatus
	// Last is the latest probe's result; zero before the first.
	Last Result
}

// Config builds a Runner.
type Config struct {
	Logger *slog.Logger
	// OnChange is called when a check's reported status changes, not on
	// every result, and once per check as it starts. It is called from
	// the checks' goroutines, one call at a time per check: it must not
	// block for long (a batcher queues the change and returns).
	OnChange func(Change)
	// Restart restarts a task whose check_restart limit was reached and
	// returns once it has restarted; reason names the check. Nil:
	// check_restart blocks are not acted on.
	Restart func(ctx context.Context, task, reason string) error
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Runner runs a set of checks, one goroutine each, until stopped.
type Runner struct {
	cfg Config
	ctx context.Context

	mu      sync.Mutex
	running map[string]*watch
	wg      sync.WaitGroup
}

// watch is one running check.
type watch struct {
	check  *Check
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	state State
}

// NewRunner returns a runner whose checks run until ctx ends or Stop.
func NewRunner(ctx context.Context, cfg Config) *Runner {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OnChange == nil {
		cfg.OnChange = func(Change) {}
	}
	return &Runner{cfg: cfg, ctx: ctx, running: map[string]*watch{}}
}

// Set makes checks the running set: checks whose ID is new start, checks
// no longer listed stop (and are waited for), checks whose probe changed
// (address, namespace, task, block) restart from the status they had, the
// others go on undisturbed, keeping their counts.
func (r *Runner) Set(checks []*Check) {
	want := map[string]*Check{}
	for _, c := range checks {
		want[c.ID] = c
	}
	r.mu.Lock()
	var gone []*watch
	for id, w := range r.running {
		if c := want[id]; c == nil || !sameProbe(w.check, c) {
			gone = append(gone, w)
			delete(r.running, id)
			if c != nil && c.Initial == "" {
				c.Initial = w.status()
			}
		}
	}
	for id, c := range want {
		if r.running[id] == nil && r.ctx.Err() == nil {
			r.running[id] = r.start(c)
		}
	}
	r.mu.Unlock()
	stopAll(gone)
}

// Stop stops every check and waits for their goroutines; a probe under
// way is cancelled. No OnChange call happens after Stop returns.
func (r *Runner) Stop() {
	r.mu.Lock()
	all := slices.Collect(maps.Values(r.running))
	clear(r.running)
	r.mu.Unlock()
	stopAll(all)
	r.wg.Wait()
}

func stopAll(ws []*watch) {
	for _, w := range ws {
		w.cancel()
	}
	for _, w := range ws {
		<-w.done
	}
}

func (w *watch) status() structs.HealthStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state.Status
}

// States returns every running check's state, sorted by ID.
func (r *Runner) States() []State {
	r.mu.Lock()
	ws := slices.Collect(maps.Values(r.running))
	r.mu.Unlock()
	out := make([]State, 0, len(ws))
	for _, w := range ws {
		w.mu.Lock()
		out = append(out, w.state)
		w.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b State) int {
		if a.Check.ID < b.Check.ID {
			return -1
		}
		return 1
	})
	return out
}

func (r *Runner) start(c *Check) *watch {
	ctx, cancel := context.WithCancel(r.ctx)
	w := &watch{check: c, cancel: cancel, done: make(chan struct{}), state: State{Check: c, Status: c.initial()}}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(w.done)
		r.loop(ctx, w)
	}()
	return w
}

// loop probes at once, then every interval, until ctx ends.
func (r *Runner) loop(ctx context.Context, w *watch) {
	c := w.check
	log := r.cfg.Logger.With("check", c.Def.Name, "service", c.Service, "check_id", c.ID)
	probe, ok := probers()[c.Def.Type]
	if !ok {
		probe = func(context.Context, *Check) Result {
			return critical("check type %q is not supported", c.Def.Type)
		}
	}
	tr := newTracker(c)
	rw := newRestartWatch(c, r.cfg.Now())
	r.cfg.OnChange(Change{Check: c, Status: tr.status})
	tick := time.NewTicker(c.interval())
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, c.timeout())
		res := probe(pctx, c)
		cancel()
		if ctx.Err() != nil {
			return
		}
		res.Time = r.cfg.Now()
		st, changed := tr.observe(res.Status)
		w.mu.Lock()
		w.state.Status, w.state.Last = st, res
		w.mu.Unlock()
		if changed {
			log.Info("check status changed", "status", st, "output", res.Output)
			r.cfg.OnChange(Change{Check: c, Status: st, Result: res})
		}
		if rw != nil && rw.observe(res.Time, st) {
			r.restart(ctx, log, w, rw)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// restart restarts the check's task and starts a new grace period once
// it has restarted.
func (r *Runner) restart(ctx context.Context, log *slog.Logger, w *watch, rw *restartWatch) {
	c := w.check
	if r.cfg.Restart == nil {
		log.Warn("check_restart limit reached but this runner cannot restart tasks", "task", c.Task)
		return
	}
	reason := fmt.Sprintf("health check %q of service %q unhealthy", c.Def.Name, c.Service)
	log.Info("restarting task: check_restart limit reached", "task", c.Task, "limit", rw.limit)
	if err := r.cfg.Restart(ctx, c.Task, reason); err != nil && ctx.Err() == nil {
		log.Warn("check_restart: restarting task", "task", c.Task, "error", err)
	}
	rw.restarted(r.cfg.Now())
}
