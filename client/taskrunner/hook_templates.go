package taskrunner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roam-sh/roam/client/allocdir"
	"github.com/roam-sh/roam/client/taskenv"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/template"
)

// templatesHook renders the task's template blocks (package template) and
// acts on their changes:
//
//	Prestart, first start  build the engine, wait for every template to
//	                       render (the task's events say what is missing),
//	                       hand env = true files to the task's environment
//	Prestart, restarts     the files stay; env files are read again (with
//	                       restart { render_templates = true } the engine is
//	                       built anew, so every template renders afresh)
//	Reattached             a restarted client resumes watching; a template
//	                       whose content differs from what the task last
//	                       saw (State) fires its change_mode once
//	watcher goroutine      change_mode restart, signal, script or noop for
//	                       each real content change, after a random splay
//	PreKilling, Stop,      stop the engine: no change_mode during or after a
//	Shutdown               kill
//
// State holds the content sum of each template as the task last saw it, so
// that neither a client restart nor a render with the same result restarts
// the task.
type templatesHook struct {
	allocDir string
	agent    string
	sandbox  *template.Sandbox // nil: render in this process
	exec     scriptExecer
	logger   *slog.Logger

	// renders counts first renders handled (a start's, or a re-attached
	// task's): what tests wait on before they change data.
	renders atomic.Int64
	// changes counts content changes acted on, before the action.
	changes atomic.Int64
	// splay picks the wait before acting on a change, at most its
	// argument (splayDelay; tests wait out the whole splay).
	splay func(max time.Duration) time.Duration

	mu     sync.Mutex
	engine *template.Engine
	stopCh chan struct{} // closed to end the watcher
	done   chan struct{} // closed when the watcher ended
}

// scriptExecer runs change_script commands inside the task (*TaskRunner).
type scriptExecer interface {
	Exec(ctx context.Context, opts *drivers.ExecOptions) (*drivers.ExitResult, error)
}

func newTemplatesHook(allocDir, agentAddr string, sandbox *template.Sandbox, exec scriptExecer, logger *slog.Logger) *templatesHook {
	return &templatesHook{allocDir: allocDir, agent: agentAddr, sandbox: sandbox, exec: exec, logger: logger.With("hook", "templates"), splay: splayDelay}
}

func (h *templatesHook) Name() string { return "templates" }

// templateEvent is the type of the task events this hook emits (Nomad's).
const templateEvent = "Template"

// templatesState is the hook's saved state.
type templatesState struct {
	// Sums are the sha256 of each template's content as the task last saw
	// it, by index.
	Sums []string `json:"sums"`
}

func (h *templatesHook) Prestart(ctx context.Context, req *PrestartRequest, resp *PrestartResponse) error {
	if len(req.Task.Templates) == 0 {
		return nil
	}
	h.mu.Lock()
	eng := h.engine
	h.mu.Unlock()
	if eng != nil && !renderOnRestart(req.Alloc, req.Task) {
		env, err := templateEnv(eng, req.Task.Templates)
		resp.Env = env
		return err
	}
	h.stop()
	eng, err := h.newEngine(req.Alloc, req.Task, req.TaskDir, req.TaskEnv)
	if err != nil {
		return err // a template that does not parse: the task cannot start
	}
	eng.Start()
	if err := h.firstRender(ctx, eng, req.Lifecycle); err != nil {
		eng.Stop()
		return err
	}
	saveSums(req.State, eng.Sums(), h.logger)
	h.renders.Add(1)
	env, err := templateEnv(eng, req.Task.Templates)
	if err != nil {
		eng.Stop()
		return err
	}
	resp.Env = env
	h.watch(eng, req.Task, req.Lifecycle, req.State, nil)
	return nil
}

// Reattached resumes watching for a task a previous client process
// started; its first render is compared with what the task last saw.
func (h *templatesHook) Reattached(_ context.Context, req *ReattachRequest) error {
	if len(req.Task.Templates) == 0 {
		return nil
	}
	eng, err := h.newEngine(req.Alloc, req.Task, req.TaskDir, req.TaskEnv)
	if err != nil {
		return err
	}
	saved := loadSums(req.State)
	if saved == nil {
		saved = []string{} // nothing saved: every rendered template is news to the task
	}
	eng.Start()
	h.watch(eng, req.Task, req.Lifecycle, req.State, saved)
	return nil
}

func (h *templatesHook) PreKilling(context.Context, *PreKillRequest) error { h.stop(); return nil }
func (h *templatesHook) Stop(context.Context, *StopRequest) error          { h.stop(); return nil }
func (h *templatesHook) Shutdown()                                         { h.stop() }

// newEngine builds the engine for the task's templates: paths interpolated
// with the host's task directories and made relative to the task dir, the
// env functions reading the task's environment, reads authenticated with
// its workload identity.
func (h *templatesHook) newEngine(alloc *structs.Allocation, task *structs.Task, dir *allocdir.TaskDir, env *taskenv.TaskEnv) (*template.Engine, error) {
	tmpls := make([]*structs.Template, len(task.Templates))
	for i, t := range task.Templates {
		c := *t
		c.DestPath = taskRelPath(dir.Dir, env.InterpolateClient(t.DestPath))
		if t.SourcePath != "" {
			c.SourcePath = taskRelPath(dir.Dir, env.InterpolateClient(t.SourcePath))
		}
		tmpls[i] = &c
	}
	eng, err := template.New(template.Config{
		Templates: tmpls, TaskDir: dir.Dir, AllocDir: h.allocDir, Addr: h.agent,
		Token: alloc.SignedIdentities[task.Name], Namespace: alloc.Namespace,
		Env: env.Map(), Sandbox: h.sandbox, Logger: h.logger,
	})
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	return eng, nil
}

// taskRelPath makes an interpolated template path relative to the task
// directory: a host path inside the allocation stays where it points
// (${NOMAD_ALLOC_DIR}/x is ../alloc/x), any other absolute path is taken
// from the task directory as its root, as Nomad does.
func taskRelPath(taskDir, p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	allocDir := filepath.Dir(taskDir)
	if rel, err := filepath.Rel(allocDir, p); err == nil && !strings.HasPrefix(rel, "..") {
		if r, err := filepath.Rel(taskDir, p); err == nil {
			return r
		}
	}
	return strings.TrimLeft(filepath.Clean(p), "/")
}

// firstRender waits until every template rendered once, saying in the
// task's events what it waits for. An error in a template fails the start
// (the restart policy decides whether to try again).
func (h *templatesHook) firstRender(ctx context.Context, eng *template.Engine, lc Lifecycle) error {
	start := time.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-eng.Events():
			switch ev.Kind {
			case template.EventWaiting:
				lc.EmitEvent(newTemplateEvent("Missing: " + strings.Join(ev.Missing, ", ")))
			case template.EventRendered:
				h.logger.Debug("templates rendered", "took", time.Since(start))
				return nil
			case template.EventError, template.EventFailed:
				return drivers.NewRecoverableError(ev.Err)
			}
		}
	}
}

// renderOnRestart is restart { render_templates }: every start renders the
// templates afresh instead of keeping the files of the last render.
func renderOnRestart(alloc *structs.Allocation, task *structs.Task) bool {
	return restartPolicy(alloc, task).RenderTemplates
}

// templateEnv reads the env = true templates' files, later ones winning.
func templateEnv(eng *template.Engine, tmpls []*structs.Template) (map[string]string, error) {
	var env map[string]string
	for i, t := range tmpls {
		if !t.Envvars {
			continue
		}
		vars, err := eng.ReadEnv(i)
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		if env == nil {
			env = map[string]string{}
		}
		for k, v := range vars {
			env[k] = v
		}
	}
	return env, nil
}

func newTemplateEvent(msg string) *structs.TaskEvent {
	ev := structs.NewTaskEvent(templateEvent)
	ev.Message = msg
	return ev
}

// stop ends the engine and its watcher, if any.
func (h *templatesHook) stop() {
	h.mu.Lock()
	eng, stopCh, done := h.engine, h.stopCh, h.done
	h.engine, h.stopCh, h.done = nil, nil, nil
	h.mu.Unlock()
	if eng == nil {
		return
	}
	close(stopCh)
	eng.Stop()
	<-done
}

func saveSums(st *HookState, sums []string, logger *slog.Logger) {
	b, _ := json.Marshal(templatesState{Sums: sums})
	if err := st.Save(b); err != nil {
		logger.Warn("saving template state", "error", err)
	}
}

func loadSums(st *HookState) []string {
	var s templatesState
	if b := st.Saved(); b != nil && json.Unmarshal(b, &s) == nil {
		return s.Sums
	}
	return nil
}

// scriptOutputLimit bounds what a change_script's output may add to an event.
const scriptOutputLimit = 1 << 10

// boundedBuffer keeps the first scriptOutputLimit bytes written to it.
type boundedBuffer struct{ bytes.Buffer }

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := scriptOutputLimit - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// splayDelay is a random delay in [0, max), so that many allocations
// reading the same data do not restart at once.
func splayDelay(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return rand.N(max)
}
