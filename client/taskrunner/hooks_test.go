package taskrunner

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// probeHook records what the runner hands a task hook. Its Prestart blocks
// on ctx when block is set and saves save as its state when set.
type probeHook struct {
	block bool
	save  []byte

	mu            sync.Mutex
	once          sync.Once // the channels close on the first Prestart
	prestartStart chan struct{}
	prestartEnd   chan struct{}
	prestartErr   error
	lifecycle     Lifecycle
	preKillCtxErr error
	preKillSaved  []byte
	preKilled     bool
}

func newProbe() *probeHook {
	return &probeHook{prestartStart: make(chan struct{}), prestartEnd: make(chan struct{})}
}

func (p *probeHook) Name() string { return "probe" }

func (p *probeHook) Prestart(ctx context.Context, req *PrestartRequest, _ *PrestartResponse) error {
	first := false
	p.once.Do(func() { first = true })
	if first {
		close(p.prestartStart)
		defer close(p.prestartEnd)
	}
	var err error
	if p.save != nil {
		err = req.State.Save(p.save)
	}
	if p.block {
		<-ctx.Done()
		err = ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prestartErr, p.lifecycle = err, req.Lifecycle
	return err
}

func (p *probeHook) PreKilling(ctx context.Context, req *PreKillRequest) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.preKilled, p.preKillCtxErr, p.preKillSaved = true, ctx.Err(), req.State.Saved()
	return nil
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s never happened", what)
	}
}

// runWith starts a runner with extra hooks at the end of its list, as new
// entries of initHooks would be.
func (h *harness) runWith(cfg Config, hooks ...TaskHook) *TaskRunner {
	tr, err := New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	tr.hooks = append(tr.hooks, hooks...)
	go tr.Run()
	h.t.Cleanup(func() { killTask(tr, h.driver) })
	return tr
}

// TestTaskHookContextEndsWithRunner: a Prestart blocked on its context
// returns when the task is killed or the runner shut down; a kill during
// Prestart leaves the task killed, not failed.
func TestTaskHookContextEndsWithRunner(t *testing.T) {
	for _, end := range []string{"kill", "shutdown"} {
		t.Run(end, func(t *testing.T) {
			h := newHarness(t, testAlloc(structs.JobTypeService, `exec sleep 300`))
			probe := newProbe()
			probe.block = true
			tr := h.runWith(h.config(), probe)
			tr.AllowStart()
			waitClosed(t, probe.prestartStart, "prestart")
			if end == "kill" {
				go func() { _ = tr.Kill(context.Background(), nil) }()
			} else {
				go tr.Shutdown()
			}
			waitClosed(t, probe.prestartEnd, "prestart returning")
			if !errors.Is(probe.prestartErr, context.Canceled) {
				t.Fatalf("prestart ended with %v", probe.prestartErr)
			}
			waitClosed(t, tr.WaitCh(), "runner end")
			st := tr.TaskState()
			if end == "kill" && (st.State != structs.TaskStateDead || st.Failed || countEvents(st, structs.TaskKilled) != 1) {
				t.Fatalf("want killed, not failed: %s", describe(st))
			}
			if end == "shutdown" && st.State == structs.TaskStateDead {
				t.Fatalf("shutdown killed the task: %s", describe(st))
			}
		})
	}
}

// TestTaskLifecycleHandle: the Lifecycle a task hook gets signals, restarts
// and kills its own (real) task and records events in its state; PreKilling,
// part of the kill, gets a context the kill did not end.
func TestTaskLifecycleHandle(t *testing.T) {
	script := `trap 'echo usr1 >> "$NOMAD_TASK_DIR/signals"' USR1; echo start >> "$NOMAD_TASK_DIR/starts"; while :; do sleep 0.05; done`
	h := newHarness(t, testAlloc(structs.JobTypeService, script))
	probe := newProbe()
	tr := h.runWith(h.config(), probe)
	tr.AllowStart()
	waitClosed(t, probe.prestartEnd, "prestart")
	lc := probe.lifecycle
	local := filepath.Join(h.dir.TaskDir("web").LocalDir)
	waitLog(t, filepath.Join(local, "starts"), "start")
	waitState(t, tr, structs.TaskStateRunning)

	ev := structs.NewTaskEvent("Template Rendered")
	ev.Message = "config.yml changed"
	lc.EmitEvent(ev)
	if err := lc.Signal("SIGUSR1", "template re-rendered"); err != nil {
		t.Fatal(err)
	}
	waitLog(t, filepath.Join(local, "signals"), "usr1")
	if err := lc.Restart(testutil.Context(t), NewRestartEvent("check unhealthy")); err != nil {
		t.Fatal(err)
	}
	waitLog(t, filepath.Join(local, "starts"), "start\nstart")
	if err := lc.Kill(testutil.Context(t), nil); err != nil {
		t.Fatal(err)
	}
	st := waitDead(t, tr)
	var msgs []string
	for _, ev := range st.Events {
		msgs = append(msgs, ev.Type+": "+ev.DisplayMessage)
	}
	for _, want := range []string{"Template Rendered: config.yml changed", "Signaling: template re-rendered", "Restart Signaled: check unhealthy", "Killed: Task successfully killed"} {
		if !slices.Contains(msgs, want) {
			t.Errorf("events %q lack %q", msgs, want)
		}
	}
	probe.mu.Lock()
	defer probe.mu.Unlock()
	if !probe.preKilled || probe.preKillCtxErr != nil {
		t.Errorf("prekill ran=%v with ctx err %v", probe.preKilled, probe.preKillCtxErr)
	}
}

// TestTaskHookStateSurvivesRestart: what a task hook saved is persisted with
// the task's local state and handed back to the runner a restarted client
// builds from it, which re-attaches without running Prestart again.
func TestTaskHookStateSurvivesRestart(t *testing.T) {
	h := newHarness(t, testAlloc(structs.JobTypeService, `exec sleep 300`))
	saver := newProbe()
	saver.save = []byte("proxy pid 4242")
	tr1 := h.runWith(h.config(), saver)
	tr1.AllowStart()
	waitClosed(t, saver.prestartEnd, "prestart")
	if saver.prestartErr != nil {
		t.Fatal(saver.prestartErr)
	}
	waitState(t, tr1, structs.TaskStateRunning)
	tr1.Shutdown()

	st, local := h.db.get(h.alloc.ID, "web")
	if local.TaskHandle == nil || !bytes.Equal(local.HookState["probe"], saver.save) {
		t.Fatalf("persisted handle=%v hook state=%q", local.TaskHandle, local.HookState)
	}
	h.driver = newRawExec(t) // a fresh driver, as in a new client process
	cfg := h.config()
	cfg.RestoredState, cfg.RestoredLocal = st, local
	reader := newProbe()
	tr2 := h.runWith(cfg, reader)
	waitState(t, tr2, structs.TaskStateRunning)
	if err := tr2.Kill(testutil.Context(t), nil); err != nil {
		t.Fatal(err)
	}
	reader.mu.Lock()
	defer reader.mu.Unlock()
	select {
	case <-reader.prestartStart:
		t.Fatal("a re-attached task ran Prestart again")
	default:
	}
	if !bytes.Equal(reader.preKillSaved, saver.save) {
		t.Fatalf("restored state %q, want %q", reader.preKillSaved, saver.save)
	}
}
