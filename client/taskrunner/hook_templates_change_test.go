package taskrunner

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// serviceAPI answers GET /v1/service/<name> in the shape of Nomad's API,
// blocking queries included, from a list the test changes: what the
// templates read, without the servers.
type serviceAPI struct {
	mu      sync.Mutex
	waiters int           // blocking queries waiting for a change
	seen    uint64        // the highest index a blocking query waited on
	gate    chan struct{} // when set, reads wait until it is closed
	index   uint64
	changed chan struct{}
	regs    map[string][]map[string]any
}

func newServiceAPI(t *testing.T) (*serviceAPI, string) {
	s := &serviceAPI{index: 1, changed: make(chan struct{}), regs: map[string][]map[string]any{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	return s, strings.TrimPrefix(srv.URL, "http://")
}

// set replaces a service's instances ("addr:port" each, with tags).
func (s *serviceAPI) set(name string, tags []string, addrs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var regs []map[string]any
	for i, a := range addrs {
		host, port, _ := strings.Cut(a, ":")
		p, _ := strconv.Atoi(port)
		regs = append(regs, map[string]any{"ID": fmt.Sprintf("%s-%d", name, i), "ServiceName": name, "Namespace": "default",
			"Address": host, "Port": p, "Tags": tags, "Datacenter": "dc1", "NodeID": "node1", "AllocID": "a", "JobID": "j"})
	}
	s.regs[name] = regs
	s.index++
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *serviceAPI) serve(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/v1/service/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	min, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	for {
		s.mu.Lock()
		idx, ch, regs := s.index, s.changed, s.regs[name]
		s.mu.Unlock()
		if idx > min {
			w.Header().Set("X-Nomad-Index", strconv.FormatUint(idx, 10))
			w.Header().Set("X-Nomad-LastContact", "0")
			w.Header().Set("X-Nomad-KnownLeader", "true")
			if regs == nil {
				regs = []map[string]any{}
			}
			_ = json.NewEncoder(w).Encode(regs)
			return
		}
		s.addWaiters(1, min)
		select {
		case <-ch:
		case <-r.Context().Done():
			s.addWaiters(-1, 0)
			return
		case <-time.After(10 * time.Second):
			min = 0
		}
		s.addWaiters(-1, 0)
	}
}

func (s *serviceAPI) addWaiters(n int, index uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiters += n
	s.seen = max(s.seen, index)
}

// caughtUp reports whether a template engine read the latest data: it
// waits for a change after it.
func (s *serviceAPI) caughtUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen >= s.index
}

// watching reports whether a blocking query waits: a template engine has
// read the data once and watches it.
func (s *serviceAPI) watching() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiters > 0
}

// A task script that records each start, with the db.conf it started with,
// and each SIGHUP in local/events (the trap first: a SIGHUP before it would
// kill the shell).
const recordingTask = `trap 'echo hup >> local/events' HUP; echo "start $(cat local/db.conf)" >> local/events; while true; do sleep 0.05; done`

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// countLines counts the lines of the file that start with prefix.
func countLines(path, prefix string) int {
	n := 0
	for _, l := range strings.Split(readFile(path), "\n") {
		if l != "" && strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// templateHarness runs the recording task with one nomadService template
// in the given change mode against a serviceAPI.
type templateHarness struct {
	*harness
	api     *serviceAPI
	cfg     Config
	taskDir string
}

func newTemplateHarness(t *testing.T, tmpl *structs.Template) *templateHarness {
	api, addr := newServiceAPI(t)
	api.set("db", []string{"v1"}, "10.0.0.1:5432")
	alloc := testAlloc(structs.JobTypeService, recordingTask)
	tmpl.EmbeddedTmpl = `{{ range nomadService "db" }}{{ .Address }}:{{ .Port }} {{ end }}`
	tmpl.DestPath = "local/db.conf"
	alloc.Job.TaskGroups[0].Tasks[0].Templates = []*structs.Template{tmpl}
	h := newHarness(t, alloc)
	cfg := h.config()
	cfg.Node.HTTPAddr = addr
	return &templateHarness{harness: h, api: api, cfg: cfg, taskDir: filepath.Join(h.dir.Dir, "web")}
}

func (th *templateHarness) start() *TaskRunner {
	tr := th.run(th.cfg)
	tr.AllowStart()
	th.waitFor("the task started", func() bool { return countLines(th.path("local/events"), "start") == 1 })
	return tr
}

func (th *templateHarness) path(rel string) string { return filepath.Join(th.taskDir, rel) }

func (th *templateHarness) waitFor(what string, cond func() bool) {
	th.t.Helper()
	testutil.WaitFor(th.t, 20*time.Second, func() error {
		if !cond() {
			return fmt.Errorf("waiting until %s; events %q, db.conf %q", what, readFile(th.path("local/events")), readFile(th.path("local/db.conf")))
		}
		return nil
	})
}

// change moves the service and waits for the new file, logging how long the
// re-render took (measured, never asserted).
func (th *templateHarness) change(addr string) {
	th.t.Helper()
	start := time.Now()
	th.api.set("db", []string{"v1"}, addr)
	th.waitFor("db.conf names "+addr, func() bool { return strings.Contains(readFile(th.path("local/db.conf")), addr) })
	th.t.Logf("re-rendered %s after %v", addr, time.Since(start))
}

// Each change_mode acts once per real content change: restart restarts the
// task (with its event), signal sends change_signal, script runs
// change_script in the task, noop only rewrites the file. A change that
// renders the same content (a tag the template does not print) does
// nothing.
func TestTemplateChangeModes(t *testing.T) {
	tests := []struct {
		name  string
		tmpl  structs.Template
		after func(th *templateHarness) bool // what the change did, once done
	}{
		{"restart", structs.Template{ChangeMode: structs.ChangeModeRestart}, func(th *templateHarness) bool {
			return countLines(th.path("local/events"), "start") == 2
		}},
		{"signal", structs.Template{ChangeMode: structs.ChangeModeSignal, ChangeSignal: "SIGHUP"}, func(th *templateHarness) bool {
			return countLines(th.path("local/events"), "hup") == 1
		}},
		{"script", structs.Template{ChangeMode: structs.ChangeModeScript, ChangeScript: &structs.ChangeScript{
			Command: "/bin/sh", Args: []string{"-c", "echo script >> local/events"}, Timeout: 5 * time.Second}}, func(th *templateHarness) bool {
			return countLines(th.path("local/events"), "script") == 1
		}},
		{"noop", structs.Template{ChangeMode: structs.ChangeModeNoop}, func(th *templateHarness) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := tt.tmpl
			th := newTemplateHarness(t, &tmpl)
			tr := th.start()
			if got := readFile(th.path("local/db.conf")); got != "10.0.0.1:5432 " {
				t.Fatalf("first render %q", got)
			}
			// Same content: a tag the template does not print.
			th.api.set("db", []string{"v2"}, "10.0.0.1:5432")
			th.waitFor("the engine read the tag change", th.api.caughtUp)
			th.change("10.0.0.2:5432")
			th.waitFor("the change acted", func() bool { return tt.after(th) })
			// A second real change acts again, and only once more.
			th.change("10.0.0.3:5432")
			want := map[string]string{
				"restart": "start 10.0.0.1:5432 \nstart 10.0.0.2:5432 \nstart 10.0.0.3:5432 \n",
				"signal":  "start 10.0.0.1:5432 \nhup\nhup\n",
				"script":  "start 10.0.0.1:5432 \nscript\nscript\n",
				"noop":    "start 10.0.0.1:5432 \n",
			}[tt.name]
			th.waitFor("the second change acted", func() bool { return readFile(th.path("local/events")) == want })
			// The watcher acts in order: once it acted on the last change
			// it acted on every one before, the tag change too if it took
			// it for one (noop's action shows nowhere, so wait for it).
			hook := templatesHookOf(tr)
			th.waitFor("the watcher counted the changes", func() bool { return hook.changes.Load() >= 2 })
			if n := hook.changes.Load(); n != 2 {
				t.Errorf("acted on %d changes, want 2 (the tag change rendered the same content)", n)
			}
			if tt.name == "restart" {
				var restarts int
				for _, ev := range tr.TaskState().Events {
					if ev.Type == structs.TaskRestartSignal && ev.DisplayMessage == reasonTemplateRestart {
						restarts++
					}
				}
				if restarts == 0 {
					t.Errorf("no %q event: %v", reasonTemplateRestart, describe(tr.TaskState()))
				}
			}
		})
	}
}

// Changes that land while a restart waits out its splay are delivered by
// that one restart: a burst (instances turning healthy one by one) restarts
// the task once, not once per step; the next change acts again. The test's
// splay records what the file said each time the watcher began to act.
func TestTemplateBurstRestartsOnce(t *testing.T) {
	th := newTemplateHarness(t, &structs.Template{ChangeMode: structs.ChangeModeRestart, Splay: 3 * time.Second})
	tr := th.run(th.cfg)
	var mu sync.Mutex
	var acted []string
	templatesHookOf(tr).splay = func(max time.Duration) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		acted = append(acted, readFile(th.path("local/db.conf")))
		return max // the whole splay, every time
	}
	tr.AllowStart()
	th.waitFor("the task started", func() bool { return countLines(th.path("local/events"), "start") == 1 })
	th.change("10.0.0.2:5432") // the restart waits 3 s from here
	th.change("10.0.0.3:5432") // within it
	th.waitFor("restarted for the burst", func() bool { return countLines(th.path("local/events"), "start 10.0.0.3") == 1 })
	th.change("10.0.0.4:5432")
	th.waitFor("restarted for the next change", func() bool { return countLines(th.path("local/events"), "start 10.0.0.4") == 1 })
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"10.0.0.2:5432 ", "10.0.0.4:5432 "}; !slices.Equal(acted, want) {
		t.Errorf("the watcher began to act with the file saying %q, want %q (once for the burst, once for the next change)", acted, want)
	}
}

// A client restart re-attaches to the task and resumes watching: the same
// content restarts nothing; a change made while no client ran restarts the
// task once; later changes still act.
func TestTemplateClientRestart(t *testing.T) {
	th := newTemplateHarness(t, &structs.Template{ChangeMode: structs.ChangeModeRestart})
	tr := th.start()
	tr.Shutdown() // the client goes away; the task keeps running

	// Same data: the re-attached runner renders the same file and restarts
	// nothing; the change after it restarts the task once.
	tr2 := th.restore()
	if n := restartEvents(tr2); n != 0 {
		t.Fatalf("%d restarts after re-attaching with the same content", n)
	}
	th.change("10.0.0.2:5432")
	th.waitFor("restarted for the change", func() bool { return countLines(th.path("local/events"), "start 10.0.0.2") == 1 })
	if n := countLines(th.path("local/events"), "start 10.0.0.1"); n != 1 {
		t.Fatalf("the task started %d times with the first content: a restart without a change", n)
	}
	tr2.Shutdown()

	// A change while the client is down: one restart once it is back.
	th.api.set("db", []string{"v1"}, "10.0.0.9:5432")
	th.restore()
	th.waitFor("restarted for the change made while down", func() bool { return countLines(th.path("local/events"), "start 10.0.0.9") == 1 })
	th.change("10.0.0.10:5432")
	th.waitFor("restarted for the next change", func() bool { return countLines(th.path("local/events"), "start 10.0.0.10") == 1 })
	if got, want := readFile(th.path("local/events")), "start 10.0.0.1:5432 \nstart 10.0.0.2:5432 \nstart 10.0.0.9:5432 \nstart 10.0.0.10:5432 \n"; got != want {
		t.Errorf("starts\n%s\nwant\n%s", got, want)
	}
}

// restore starts a runner from the persisted state, as a restarted client
// does, and waits until it re-attached and its templates watch their data
// again (they rendered once).
func (th *templateHarness) restore() *TaskRunner {
	th.waitFor("the stopped runner's reads ended", func() bool { return !th.api.watching() })
	st, local := th.db.get(th.alloc.ID, "web")
	cfg := th.cfg
	cfg.RestoredState, cfg.RestoredLocal = st, local
	tr := th.run(cfg)
	hook := templatesHookOf(tr)
	testutil.WaitFor(th.t, 10*time.Second, func() error {
		if tr.TaskID() == "" || hook.renders.Load() == 0 {
			return fmt.Errorf("not re-attached and rendered")
		}
		return nil
	})
	return tr
}

func templatesHookOf(tr *TaskRunner) *templatesHook {
	for _, h := range tr.hooks {
		if th, ok := h.(*templatesHook); ok {
			return th
		}
	}
	panic("no templates hook")
}

// restartEvents counts the runner's template restarts.
func restartEvents(tr *TaskRunner) int {
	n := 0
	for _, ev := range tr.TaskState().Events {
		if ev.Type == structs.TaskRestartSignal && ev.DisplayMessage == reasonTemplateRestart {
			n++
		}
	}
	return n
}

// Until its data arrives, the task waits, and its events say for what;
// then it starts with the rendered file.
func TestTemplateFirstRenderWaitsForData(t *testing.T) {
	th := newTemplateHarness(t, &structs.Template{ChangeMode: structs.ChangeModeRestart})
	gate := make(chan struct{})
	th.api.mu.Lock()
	th.api.gate = gate
	th.api.mu.Unlock()
	tr := th.run(th.cfg)
	tr.AllowStart()
	testutil.WaitFor(t, 20*time.Second, func() error {
		for _, msg := range templateEvents(tr.TaskState()) {
			if msg == "Missing: nomad.service(db)" {
				return nil
			}
		}
		return fmt.Errorf("no Missing event: %q", templateEvents(tr.TaskState()))
	})
	if st := tr.TaskState(); st.State != structs.TaskStatePending || readFile(th.path("local/events")) != "" {
		t.Fatalf("the task did not wait: %v", describe(st))
	}
	close(gate)
	th.waitFor("the task started with the data", func() bool { return countLines(th.path("local/events"), "start 10.0.0.1:5432") == 1 })
}
