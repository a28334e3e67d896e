package template

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	ctconfig "github.com/hashicorp/consul-template/config"
	dep "github.com/hashicorp/consul-template/dependency"
	"github.com/hashicorp/consul-template/manager"

	"github.com/roam-sh/roam/structs"
)

// Bounds on what one task's templates may watch (see checkDeps and
// docs/templates.md, Limits).
const (
	// MaxDepsPerTemplate bounds the services and variables one template
	// reads.
	MaxDepsPerTemplate = 32
	// MaxDepsPerTask bounds them across a task's templates.
	MaxDepsPerTask = 48
)

// ErrTooManyDeps is the error of templates that watch more than the bounds.
var ErrTooManyDeps = errors.New("too many watched dependencies")

// Config is what an Engine renders and where.
type Config struct {
	// Templates are the task's template blocks, in order. SourcePath and
	// DestPath must already be interpolated and relative to TaskDir.
	Templates []*structs.Template
	// TaskDir is the task directory's host path: sources are read beneath
	// it. AllocDir is the allocation directory's host path: destinations
	// are written beneath it (a task may render into ../alloc).
	TaskDir, AllocDir string
	// Addr is the local agent's HTTP address (host:port), serving both the
	// Nomad-shaped and the Consul-shaped catalog reads.
	Addr string
	// Token is the task's workload identity, sent with every read.
	Token string
	// Namespace is the allocation's namespace (nomadService's default).
	Namespace string
	// Env is the task's environment, what env and friends read.
	Env map[string]string
	// Sandbox, when set, runs the engine in a child process under its
	// limits; nil renders in this process (tests of other packages).
	Sandbox *Sandbox     `json:"-"`
	Logger  *slog.Logger `json:"-"`
}

// EventKind says what an Event reports.
type EventKind int

// The events an Engine sends, in the order a task meets them.
const (
	// EventWaiting: the first render waits for data; Missing says which.
	EventWaiting EventKind = iota + 1
	// EventRendered: every template rendered once. Changed lists those
	// whose file was written because it differed from the one on disk.
	EventRendered
	// EventChanged: after the first render, the content of the Changed
	// templates changed and their files were rewritten.
	EventChanged
	// EventError: executing template Index failed (Err); its file keeps
	// its last content and it is tried again when its data changes.
	EventError
	// EventFailed: the engine stopped (Err): nothing renders again.
	EventFailed
)

func (k EventKind) String() string {
	switch k {
	case EventWaiting:
		return "waiting"
	case EventRendered:
		return "rendered"
	case EventChanged:
		return "changed"
	case EventError:
		return "error"
	case EventFailed:
		return "failed"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one report of an Engine.
type Event struct {
	Kind    EventKind
	Missing []string
	Changed []int
	Index   int
	Err     error
}

// Engine renders one task's templates and watches their data.
type Engine struct {
	cfg    Config
	runner *manager.Runner
	files  *files
	dialer *closingDialer
	// child is set when the engine runs in a child process (Sandbox); then
	// runner and dialer are nil.
	child *childProc
	// byID maps consul-template's template IDs (a hash of the text, so
	// several blocks may share one) to template indexes.
	byID   map[string][]int
	events chan Event

	started  atomic.Bool
	stopOnce sync.Once
	stopCh   chan struct{}
	done     chan struct{}
}

// New parses the templates and builds the engine; it reads nothing from the
// API yet. A template that does not parse, or a source that cannot be read,
// is an error naming the template and the line.
func New(cfg Config) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	fs, err := newFiles(cfg)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		cfg: cfg, files: fs,
		events: make(chan Event, 8), stopCh: make(chan struct{}), done: make(chan struct{}),
	}
	if cfg.Sandbox != nil {
		e.child = &childProc{sb: *cfg.Sandbox}
		return e, nil
	}
	e.dialer = newClosingDialer()
	ctc, byConfig := e.runnerConfig()
	r, err := manager.NewRunner(ctc, false)
	if err != nil {
		return nil, e.explain(err)
	}
	e.runner = r
	e.byID = map[string][]int{}
	for id, tcs := range r.TemplateConfigMapping() {
		for _, tc := range tcs {
			if i, ok := byConfig[tc]; ok {
				e.byID[id] = append(e.byID[id], i)
			}
		}
	}
	return e, nil
}

// explain turns a runner construction error (a source that could not be
// read, a template that does not parse) into one that names the template.
func (e *Engine) explain(err error) error {
	var te *templateError
	if errors.As(err, &te) {
		return te
	}
	return fmt.Errorf("templates: %w", err)
}

// Start runs the engine until Stop; call it once.
func (e *Engine) Start() {
	e.started.Store(true)
	if e.child != nil {
		go e.startChild()
		return
	}
	go e.loop()
}

// Events is where the engine reports; read it until Stop.
func (e *Engine) Events() <-chan Event { return e.events }

// Stop stops watching and rendering, closes the connections its reads hold
// open (a blocking query would otherwise outlive it by up to its wait) and
// waits for its loop to end. It may be called more than once.
func (e *Engine) Stop() {
	e.stopOnce.Do(func() {
		close(e.stopCh)
		if e.child != nil {
			e.child.kill()
			return
		}
		e.runner.StopImmediately()
		e.dialer.closeAll()
	})
	if e.started.Load() {
		<-e.done
	}
}

// Sums returns the sha256 of each template's last rendered content, hex
// ("" for one not rendered yet), for a caller that persists what its task
// has seen.
func (e *Engine) Sums() []string {
	if e.child != nil {
		return e.child.sumsCopy(len(e.cfg.Templates))
	}
	return e.files.sums()
}

// Path is the host path template i renders to.
func (e *Engine) Path(i int) string { return e.files.specs[i].abs }

func (e *Engine) loop() {
	defer close(e.done)
	go e.runner.Start()
	st := &loopState{}
	for {
		select {
		case <-e.stopCh:
			return
		case err := <-e.runner.ErrCh:
			e.send(Event{Kind: EventFailed, Err: fmt.Errorf("templates: %w", err)})
			return
		case <-e.runner.RenderEventCh():
		case <-e.runner.TemplateRenderedCh():
		}
		if err := e.checkDeps(e.runner.RenderEvents()); err != nil {
			e.send(Event{Kind: EventFailed, Err: err})
			return
		}
		e.afterRun(st)
	}
}

// checkDeps refuses templates that watch more data than one task may: each
// watched dependency is a blocking read holding a connection to the agent,
// and a template can name thousands (nomadService in a loop). The check runs
// after the run that added them; the transports' connection caps
// (baseConfig) bound what that one run can open meanwhile.
func (e *Engine) checkDeps(events map[string]*manager.RenderEvent) error {
	all := map[string]bool{}
	for id, ev := range events {
		mine := map[string]bool{} // used and missing overlap
		for _, set := range []*dep.Set{ev.UsedDeps, ev.MissingDeps} {
			if set == nil {
				continue
			}
			for _, d := range set.List() {
				mine[d.String()], all[d.String()] = true, true
			}
		}
		if n := len(mine); n > MaxDepsPerTemplate {
			i := e.byID[id]
			if len(i) == 0 {
				i = []int{0}
			}
			return &templateError{index: i[0], dest: e.cfg.Templates[i[0]].DestPath,
				err: fmt.Errorf("%w: it watches %d services or variables; the limit is %d", ErrTooManyDeps, n, MaxDepsPerTemplate)}
		}
	}
	if len(all) > MaxDepsPerTask {
		return fmt.Errorf("templates: %w: the task's templates watch %d services or variables; the limit is %d", ErrTooManyDeps, len(all), MaxDepsPerTask)
	}
	return nil
}

// loopState is what the loop remembers between runs of the runner.
type loopState struct {
	rendered bool              // the first render happened
	missing  []string          // what the last Waiting event said
	errs     map[string]string // the last error reported per template ID
}

// afterRun reads the runner's render events after one of its runs and
// sends what changed.
func (e *Engine) afterRun(st *loopState) {
	events := e.runner.RenderEvents()
	e.reportErrors(st, events)
	if st.rendered {
		if changed := e.files.takeChanged(); len(changed) > 0 {
			e.send(Event{Kind: EventChanged, Changed: changed})
		}
		return
	}
	if len(events) >= len(e.byID) && allRendered(events) {
		st.rendered = true
		e.send(Event{Kind: EventRendered, Changed: e.files.takeChanged()})
		return
	}
	if missing := missingDeps(events); len(missing) > 0 && !slices.Equal(missing, st.missing) {
		st.missing = missing
		e.send(Event{Kind: EventWaiting, Missing: missing})
	}
}

func allRendered(events map[string]*manager.RenderEvent) bool {
	for _, ev := range events {
		if ev.LastWouldRender.IsZero() {
			return false
		}
	}
	return true
}

// missingDeps lists, sorted, the data the templates still wait for, as
// consul-template names it (nomad.service(redis), health.service(db|passing)).
func missingDeps(events map[string]*manager.RenderEvent) []string {
	set := map[string]bool{}
	for _, ev := range events {
		if ev.MissingDeps == nil {
			continue
		}
		for _, d := range ev.MissingDeps.List() {
			set[d.String()] = true
		}
	}
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// reportErrors sends each template's new execution error once.
func (e *Engine) reportErrors(st *loopState, events map[string]*manager.RenderEvent) {
	if st.errs == nil {
		st.errs = map[string]string{}
	}
	for id, ev := range events {
		if ev.Error == nil {
			delete(st.errs, id)
			continue
		}
		msg := ev.Error.Error()
		if st.errs[id] == msg {
			continue
		}
		st.errs[id] = msg
		for _, i := range e.byID[id] {
			e.send(Event{Kind: EventError, Index: i, Err: &templateError{index: i, dest: e.cfg.Templates[i].DestPath, err: ev.Error}})
		}
	}
}

func (e *Engine) send(ev Event) {
	select {
	case e.events <- ev:
	case <-e.stopCh:
	}
}

// templateError names the template an error is about.
type templateError struct {
	index int
	dest  string
	err   error
}

func (e *templateError) Error() string {
	return fmt.Sprintf("template %d (%s): %v", e.index+1, e.dest, e.err)
}

func (e *templateError) Unwrap() error { return e.err }

// runnerConfig builds consul-template's configuration; byConfig maps each
// template's configuration back to its index.
func (e *Engine) runnerConfig() (*ctconfig.Config, map[*ctconfig.TemplateConfig]int) {
	c := baseConfig(e.cfg, e.dialer)
	c.ReaderFunc = e.files.read
	c.RendererFunc = e.files.render
	byConfig := map[*ctconfig.TemplateConfig]int{}
	tcs := make(ctconfig.TemplateConfigs, 0, len(e.cfg.Templates))
	for i, t := range e.cfg.Templates {
		tc := templateConfig(t, e.files.specs[i], e.cfg.Env)
		byConfig[tc] = i
		tcs = append(tcs, tc)
	}
	c.Templates = &tcs
	c.Finalize()
	return c, byConfig
}
