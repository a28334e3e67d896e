package allocrunner

import "github.com/roam-sh/roam/structs"

// Lifecycle ordering of an allocation's tasks:
//
//	prestart ──► main ──► poststart          (each stage opens once, for good)
//	  prestart tasks start at once;
//	  main tasks once every prestart task that is not a sidecar finished
//	    successfully and every prestart sidecar is running;
//	  poststart tasks once every main task has started;
//	when every main task is dead, the remaining tasks (sidecars, poststart) are
//	killed ("Main Tasks Dead"); when everything but poststop is dead, poststop
//	tasks start, provided the main stage was ever reached.

// stage is a lifecycle stage.
type stage int

const (
	stagePrestart stage = iota
	stageMain
	stagePoststart
	stagePoststop
)

func stageOf(t *structs.Task) stage {
	switch {
	case t.IsPrestart():
		return stagePrestart
	case t.IsPoststart():
		return stagePoststart
	case t.IsPoststop():
		return stagePoststop
	}
	return stageMain
}

func isSidecar(t *structs.Task) bool { return t.Lifecycle != nil && t.Lifecycle.Sidecar }

// gates remembers which stages are open; a stage never closes again.
type gates struct {
	open [stagePoststop + 1]bool
}

// update opens every stage whose condition now holds and returns the tasks
// that may start as a result (all tasks of newly opened stages).
func (g *gates) update(tasks []*structs.Task, states map[string]*structs.TaskState) []string {
	was := g.open
	g.open[stagePrestart] = true
	if !g.open[stageMain] && prestartsReady(tasks, states) {
		g.open[stageMain] = true
	}
	if g.open[stageMain] && !g.open[stagePoststart] && allStarted(tasks, states, stageMain) {
		g.open[stagePoststart] = true
	}
	if !g.open[stagePoststop] && allDeadExcept(tasks, states, stagePoststop) {
		g.open[stagePoststop] = true
	}
	var out []string
	for _, t := range tasks {
		s := stageOf(t)
		if g.open[s] && !was[s] {
			out = append(out, t.Name)
		}
	}
	return out
}

// mainReached reports whether main tasks were ever allowed to start.
func (g *gates) mainReached() bool { return g.open[stageMain] }

func prestartsReady(tasks []*structs.Task, states map[string]*structs.TaskState) bool {
	for _, t := range tasks {
		if stageOf(t) != stagePrestart {
			continue
		}
		st := states[t.Name]
		if st == nil {
			return false
		}
		if isSidecar(t) && st.State != structs.TaskStateRunning {
			return false
		}
		if !isSidecar(t) && !st.Successful() {
			return false
		}
	}
	return true
}

func allStarted(tasks []*structs.Task, states map[string]*structs.TaskState, s stage) bool {
	for _, t := range tasks {
		if stageOf(t) == s && (states[t.Name] == nil || states[t.Name].StartedAt.IsZero()) {
			return false
		}
	}
	return true
}

func allDeadExcept(tasks []*structs.Task, states map[string]*structs.TaskState, except stage) bool {
	for _, t := range tasks {
		if stageOf(t) != except && !isDead(states[t.Name]) {
			return false
		}
	}
	return true
}

func allMainDead(tasks []*structs.Task, states map[string]*structs.TaskState) bool {
	for _, t := range tasks {
		if stageOf(t) == stageMain && !isDead(states[t.Name]) {
			return false
		}
	}
	return true
}

// allMainRunning: every main task runs (a group without main tasks never
// does).
func allMainRunning(tasks []*structs.Task, states map[string]*structs.TaskState) bool {
	n := 0
	for _, t := range tasks {
		if stageOf(t) != stageMain {
			continue
		}
		n++
		if st := states[t.Name]; st == nil || st.State != structs.TaskStateRunning {
			return false
		}
	}
	return n > 0
}

func isDead(st *structs.TaskState) bool { return st != nil && st.State == structs.TaskStateDead }

// killPhase is one step of stopping an allocation: its tasks are killed
// together, and the phase ends before the next one begins.
type killPhase struct {
	name  string
	match func(*structs.Task) bool
}

// killPhases is the order tasks are stopped in when the allocation stops.
// Poststop tasks are not listed: they run after everything else is dead.
func killPhases() []killPhase {
	return []killPhase{
		// The leader first: its followers may be waiting on it, and users mark
		// a task leader precisely so the others are stopped because it is.
		{"leader", func(t *structs.Task) bool { return t.Leader && !t.IsPoststop() }},
		// Then the main work and the non-sidecar lifecycle tasks.
		{"main", func(t *structs.Task) bool { return !t.Leader && !isSidecar(t) && !t.IsPoststop() }},
		// Sidecars last: proxies and log shippers serve the main tasks until
		// those are gone.
		{"sidecars", func(t *structs.Task) bool { return !t.Leader && isSidecar(t) && !t.IsPoststop() }},
	}
}
