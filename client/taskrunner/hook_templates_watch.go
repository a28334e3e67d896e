package taskrunner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/template"
)

// Reasons shown in the task's events when a template change acts on it.
const (
	reasonTemplateRestart = "Template with change_mode restart re-rendered"
	reasonTemplateSignal  = "Template re-rendered"
)

// watch hands eng to a watcher goroutine the hook owns until stop. saved,
// when not nil, is what the task saw before a client restart: the engine's
// first render is compared with it.
func (h *templatesHook) watch(eng *template.Engine, task *structs.Task, lc Lifecycle, st *HookState, saved []string) {
	ctx, cancel := context.WithCancel(context.Background())
	w := &templateWatcher{hook: h, eng: eng, task: task, lc: lc, st: st, saved: saved, ctx: ctx}
	stopCh, done := make(chan struct{}), make(chan struct{})
	h.mu.Lock()
	h.engine, h.stopCh, h.done = eng, stopCh, done
	h.mu.Unlock()
	go func() {
		<-stopCh
		cancel() // a restart, signal or script in progress gives way
	}()
	go func() {
		defer close(done)
		w.run(stopCh)
	}()
}

// templateWatcher acts on one engine's events for its task.
type templateWatcher struct {
	hook  *templatesHook
	eng   *template.Engine
	task  *structs.Task
	lc    Lifecycle
	st    *HookState
	saved []string
	ctx   context.Context
}

func (w *templateWatcher) run(stopCh <-chan struct{}) {
	for {
		select {
		case <-stopCh:
			return
		case ev := <-w.eng.Events():
			if !w.handle(ev) {
				return
			}
		}
	}
}

// handle acts on one event; false ends the watcher.
func (w *templateWatcher) handle(ev template.Event) bool {
	switch ev.Kind {
	case template.EventWaiting:
		w.lc.EmitEvent(newTemplateEvent("Missing: " + strings.Join(ev.Missing, ", ")))
	case template.EventRendered:
		// Only after a client restart does the watcher see the first
		// render: act on what changed while no client watched.
		more := w.act(w.changedSinceSaved(ev.Changed))
		w.hook.renders.Add(1)
		return more
	case template.EventChanged:
		return w.act(ev.Changed)
	case template.EventError:
		w.lc.EmitEvent(newTemplateEvent("Template failed: " + ev.Err.Error()))
	case template.EventFailed:
		kill := NewKillingEvent()
		kill.KillReason, kill.FailsTask = "Template failed: "+ev.Err.Error(), true
		// Kill waits for the task to die, which stops this hook and waits
		// for this goroutine: kill from another one.
		go func() { _ = w.lc.Kill(context.Background(), kill) }()
		return false
	}
	return true
}

// changedSinceSaved lists the templates whose content differs from what
// the task last saw; without saved sums (a task a client without this
// state started), those whose file on disk differed.
func (w *templateWatcher) changedSinceSaved(onDisk []int) []int {
	if len(w.saved) == 0 {
		return onDisk
	}
	var out []int
	for i, sum := range w.eng.Sums() {
		if sum != "" && (i >= len(w.saved) || w.saved[i] != sum) {
			out = append(out, i)
		}
	}
	return out
}

// act applies the change_mode of the changed templates: one restart if any
// asks for it (it delivers every change), otherwise each distinct signal
// and each script, after the longest splay among them. false ends the
// watcher (an event handled after a restart said so).
func (w *templateWatcher) act(changed []int) bool {
	if len(changed) == 0 {
		return true
	}
	w.hook.changes.Add(1)
	saveSums(w.st, w.eng.Sums(), w.hook.logger)
	var restart bool
	var signals []string
	var scripts []*structs.ChangeScript
	var splay time.Duration
	var dests []string
	for _, i := range changed {
		t := w.task.Templates[i]
		dests = append(dests, t.DestPath)
		if t.Once {
			continue
		}
		switch t.ChangeMode {
		case structs.ChangeModeRestart:
			restart = true
		case structs.ChangeModeSignal:
			if !containsString(signals, t.ChangeSignal) {
				signals = append(signals, t.ChangeSignal)
			}
		case structs.ChangeModeScript:
			scripts = append(scripts, t.ChangeScript)
		default:
			continue
		}
		splay = max(splay, t.Splay)
	}
	w.hook.logger.Info("templates re-rendered", "templates", dests, "restart", restart, "signals", signals, "scripts", len(scripts))
	if !restart && len(signals) == 0 && len(scripts) == 0 {
		return true
	}
	if !w.wait(w.hook.splay(splay)) {
		return true
	}
	if restart {
		later := w.absorb()
		if err := w.restart(); err != nil {
			w.hook.logger.Warn("restart for a template change", "error", err)
		}
		for _, ev := range later {
			if !w.handle(ev) {
				return false
			}
		}
		return true
	}
	for _, sig := range signals {
		if err := w.lc.Signal(sig, reasonTemplateSignal); err != nil {
			w.hook.logger.Warn("signal for a template change", "signal", sig, "error", err)
		}
	}
	for _, cs := range scripts {
		w.runScript(cs)
	}
	return true
}

// absorb takes the content changes the engine queued while the watcher
// waited out the splay, just before a restart: their files are written
// already, so the restart delivers them, and acting on each again would
// restart the task once per step of a burst (instances turning healthy
// one by one). Other events are returned, in order, for after the
// restart.
func (w *templateWatcher) absorb() (later []template.Event) {
	for {
		select {
		case ev := <-w.eng.Events():
			if ev.Kind != template.EventChanged {
				later = append(later, ev)
				continue
			}
			w.hook.changes.Add(1)
			saveSums(w.st, w.eng.Sums(), w.hook.logger)
		default:
			return later
		}
	}
}

// restartRetry bounds how long a restart for a template change waits for a
// task that is still starting: a change that lands between the task's
// prestart (which read the old file) and its start would otherwise be lost,
// leaving the task running with the old content (a service it depends on
// registering just after it started, as in seed 003 scenario 3).
const (
	restartRetryEvery = 250 * time.Millisecond
	restartRetryFor   = 30 * time.Second
)

// restart restarts the task for a template change, retrying while the task
// is not running yet.
func (w *templateWatcher) restart() error {
	deadline := time.Now().Add(restartRetryFor)
	for {
		err := w.lc.Restart(w.ctx, NewRestartEvent(reasonTemplateRestart))
		if !errors.Is(err, ErrTaskNotRunning) || time.Now().After(deadline) || !w.wait(restartRetryEvery) {
			return err
		}
	}
}

func (w *templateWatcher) wait(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.ctx.Done():
		return false
	}
}

// runScript runs a change_script in the task, through the driver's exec,
// bounded by its timeout; a failure is an event, and kills the task when
// fail_on_error says so.
func (w *templateWatcher) runScript(cs *structs.ChangeScript) {
	timeout := cs.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(w.ctx, timeout)
	defer cancel()
	var out boundedBuffer
	cmd := append([]string{cs.Command}, cs.Args...)
	res, err := w.hook.exec.Exec(ctx, &drivers.ExecOptions{Command: cmd, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out})
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("exit code %d: %s", res.ExitCode, strings.TrimSpace(out.String()))
	}
	if err == nil {
		w.lc.EmitEvent(newTemplateEvent(fmt.Sprintf("Template ran script %s with exit code 0", cs.Command)))
		return
	}
	if w.ctx.Err() != nil {
		return // the hook stopped: the task is being killed
	}
	msg := fmt.Sprintf("Template failed to run script %s: %v", cs.Command, err)
	w.lc.EmitEvent(newTemplateEvent(msg))
	if cs.FailOnError {
		kill := NewKillingEvent()
		kill.KillReason, kill.FailsTask = msg, true
		go func() { _ = w.lc.Kill(context.Background(), kill) }()
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
