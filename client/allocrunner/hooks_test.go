package allocrunner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/client/taskrunner"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// probeHook records what the runner hands an allocation hook. Its Prerun
// blocks on ctx when block is set; it saves save as its state when set.
type probeHook struct {
	name  string
	block bool
	save  []byte
	// rejoin is what NetworkMoved answers.
	rejoin []string

	mu          sync.Mutex
	prerun      *PrerunRequest
	prerunErr   error
	prerunStart chan struct{}
	prerunEnd   chan struct{}
	moved       []*NetworkMovedRequest
	preKill     *PreKillRequest
}

func newProbe(name string) *probeHook {
	return &probeHook{name: name, prerunStart: make(chan struct{}), prerunEnd: make(chan struct{})}
}

func (p *probeHook) Name() string { return p.name }

func (p *probeHook) Prerun(ctx context.Context, req *PrerunRequest, _ *PrerunResponse) error {
	close(p.prerunStart)
	defer close(p.prerunEnd)
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
	p.prerun, p.prerunErr = req, err
	return err
}

func (p *probeHook) PreKill(_ context.Context, req *PreKillRequest) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.preKill = req
}

func (p *probeHook) NetworkMoved(_ context.Context, req *NetworkMovedRequest, resp *NetworkMovedResponse) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.moved = append(p.moved, req)
	resp.Rejoin = p.rejoin
	return nil
}

func (p *probeHook) prerunReq(t *testing.T) *PrerunRequest {
	t.Helper()
	select {
	case <-p.prerunEnd:
	case <-time.After(20 * time.Second):
		t.Fatalf("hook %s: Prerun did not return", p.name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.prerun
}

// insertAfter puts hook h right after the hook named after in the runner's
// list, as a new entry in initHooks would be.
func insertAfter(t *testing.T, ar *AllocRunner, after string, h RunnerHook) {
	t.Helper()
	i := slices.IndexFunc(ar.hooks, func(x RunnerHook) bool { return x.Name() == after })
	if i < 0 {
		t.Fatalf("no hook %q", after)
	}
	ar.hooks = slices.Insert(ar.hooks, i+1, h)
}

// build makes a runner without running it; the test's cleanup destroys it.
func (e *env) build(cfg Config) *AllocRunner {
	e.t.Helper()
	if err := e.db.PutAllocation(cfg.Alloc); err != nil {
		e.t.Fatal(err)
	}
	ar, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ar.Destroy()
		<-ar.DestroyCh()
	})
	return ar
}

// TestHookContextEndsWithRunner: a Prerun blocked on its context returns when
// the allocation is stopped, destroyed or its runner shut down. A stop or
// destroy during Prerun is no failure: the tasks end killed, not failed.
func TestHookContextEndsWithRunner(t *testing.T) {
	for _, end := range []string{"stop", "shutdown", "destroy"} {
		t.Run(end, func(t *testing.T) {
			e := newEnv(t)
			a := alloc(structs.JobTypeService, task("web", `exec sleep 300`))
			ar := e.build(e.config(a))
			probe := newProbe("blocker")
			probe.block = true
			insertAfter(t, ar, "network", probe)
			go ar.Run()
			select {
			case <-probe.prerunStart:
			case <-time.After(20 * time.Second):
				t.Fatal("prerun never reached the blocking hook")
			}
			switch end {
			case "stop":
				stopped := *a
				stopped.DesiredStatus, stopped.AllocModifyIndex = structs.AllocDesiredStatusStop, 2
				ar.Update(&stopped)
			case "shutdown":
				ar.Shutdown()
			case "destroy":
				ar.Destroy()
			}
			if req := probe.prerunReq(t); req == nil || !errors.Is(probe.prerunErr, context.Canceled) {
				t.Fatalf("prerun ended with %v", probe.prerunErr)
			}
			waitDone(t, ar)
			st := ar.TaskStates()["web"]
			switch end {
			case "shutdown":
				if st.State != structs.TaskStatePending {
					t.Fatalf("shutdown touched the task: %s", describeAlloc(ar))
				}
			default:
				if st.State != structs.TaskStateDead || st.Failed || !hasEvent(st, structs.TaskKilled) {
					t.Fatalf("want killed, not failed: %s", describeAlloc(ar))
				}
			}
		})
	}
}

// fakeNamespaces is the client's network manager reduced to what the runner
// needs: a real namespace per allocation, its address reported as given.
type fakeNamespaces struct {
	t       *testing.T
	address string
	// restored and fresh are reported by Setup.
	restored, fresh bool
}

func (f *fakeNamespaces) Setup(_ context.Context, req *NetworkRequest) (*NetworkResult, error) {
	path := netns.NamedPath("roam-rk-" + structs.ShortID(req.Alloc.ID))
	if _, err := netns.Create(path); err != nil {
		return nil, err
	}
	f.t.Cleanup(func() { _ = netns.Delete(path) })
	st := &structs.AllocNetworkStatus{InterfaceName: "lo", Address: f.address}
	return &NetworkResult{NSPath: path, Status: st, Restored: f.restored, Fresh: f.fresh}, nil
}

func (f *fakeNamespaces) Teardown(_ context.Context, allocID string) error {
	return netns.Delete(netns.NamedPath("roam-rk-" + structs.ShortID(allocID)))
}

func requireRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
}

// bridgeAlloc is an allocation of a group in bridge mode with port http
// (mapped 8080 inside) and group meta.
func bridgeAlloc(tasks ...*structs.Task) *structs.Allocation {
	a := alloc(structs.JobTypeService, tasks...)
	tg := a.Job.TaskGroups[0]
	tg.Networks = []*structs.NetworkResource{{Mode: structs.NetworkModeBridge}}
	tg.Meta = map[string]string{"tier": "front"}
	a.AllocatedResources = &structs.AllocatedResources{Shared: structs.AllocatedSharedResources{
		Ports: structs.AllocatedPorts{{Label: "http", Value: 28080, To: 8080, HostIP: "127.0.0.1"}},
	}}
	return a
}

// TestHookAfterNetworkSeesNetworkAndEnv: a hook placed after the network hook
// (where group services will go) sees the namespace the network hook set up
// and interpolates a service name with the allocation's environment; a hook
// before it sees no network.
func TestHookAfterNetworkSeesNetworkAndEnv(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)
	a := bridgeAlloc(task("web", `exec sleep 300`))
	cfg := e.config(a)
	cfg.Networks = &fakeNamespaces{t: t, address: "10.99.0.5"}
	ar := e.build(cfg)
	before, after := newProbe("before"), newProbe("services")
	insertAfter(t, ar, "volumes", before)
	insertAfter(t, ar, "network", after)
	go ar.Run()

	if req := before.prerunReq(t); req.Network != nil {
		t.Fatalf("hook before the network hook saw network %+v", req.Network)
	}
	req := after.prerunReq(t)
	if req.Network == nil || !netns.IsNamespace(req.Network.NSPath) || req.Network.Status.Address != "10.99.0.5" {
		t.Fatalf("network %+v", req.Network)
	}
	name := req.Env.Interpolate("${NOMAD_JOB_NAME}-${NOMAD_GROUP_NAME}-${NOMAD_META_tier}-${NOMAD_SHORT_ALLOC_ID}")
	if want := "job-g-front-" + structs.ShortID(a.ID); name != want {
		t.Fatalf("service name %q, want %q", name, want)
	}
	if addr, _ := req.Env.Get("NOMAD_ALLOC_ADDR_http"); addr != "10.99.0.5:8080" {
		t.Fatalf("NOMAD_ALLOC_ADDR_http = %q", addr)
	}
	if _, ok := req.Env.Get("NOMAD_TASK_NAME"); ok {
		t.Fatal("the allocation's env has a task name")
	}
	waitStatus(t, ar, structs.AllocClientStatusRunning)
}

// TestLifecycleHandleDrivesTasks: the Lifecycle an allocation hook gets
// restarts, signals and kills a real task by name, and its events show up
// in the task's state.
func TestLifecycleHandleDrivesTasks(t *testing.T) {
	e := newEnv(t)
	script := `trap 'echo usr1 >> "$NOMAD_ALLOC_DIR/signals"' USR1; echo start >> "$NOMAD_ALLOC_DIR/starts"; while :; do sleep 0.05; done`
	ar := e.build(e.config(alloc(structs.JobTypeService, task("web", script), task("side", `exec sleep 300`))))
	probe := newProbe("watcher")
	insertAfter(t, ar, "network", probe)
	go ar.Run()
	lc := probe.prerunReq(t).Lifecycle
	waitStatus(t, ar, structs.AllocClientStatusRunning)
	shared := ar.AllocDir().SharedDir
	waitFile(t, filepath.Join(shared, "starts"), "start\n")

	ev := structs.NewTaskEvent("Check Unhealthy")
	ev.Message = "check web failed 3 times"
	if err := lc.EmitTaskEvent("web", ev); err != nil {
		t.Fatal(err)
	}
	if err := lc.SignalTask("web", "SIGUSR1", "template re-rendered"); err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(shared, "signals"), "usr1\n")
	if err := lc.RestartTask(testutil.Context(t), "web", taskrunner.NewRestartEvent("check web unhealthy")); err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(shared, "starts"), "start\nstart\n")
	if err := lc.KillTask(testutil.Context(t), "side", nil); err != nil {
		t.Fatal(err)
	}
	if err := lc.RestartTask(testutil.Context(t), "nope", nil); !errors.Is(err, ErrUnknownTask) {
		t.Fatalf("unknown task: %v", err)
	}

	web, side := ar.TaskStates()["web"], ar.TaskStates()["side"]
	var msgs []string
	for _, ev := range web.Events {
		msgs = append(msgs, ev.Type+": "+ev.DisplayMessage)
	}
	for _, want := range []string{"Check Unhealthy: check web failed 3 times", "Signaling: template re-rendered", "Restart Signaled: check web unhealthy"} {
		if !slices.Contains(msgs, want) {
			t.Errorf("web events %q lack %q", msgs, want)
		}
	}
	if web.State != structs.TaskStateRunning || web.Restarts != 1 {
		t.Errorf("web: %s", describeAlloc(ar))
	}
	if side.State != structs.TaskStateDead || !hasEvent(side, structs.TaskKilled) {
		t.Errorf("side: %s", describeAlloc(ar))
	}
}

func waitFile(t *testing.T, path, want string) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, func() error {
		b, _ := os.ReadFile(path)
		if string(b) != want {
			return fmt.Errorf("%s = %q, want %q", filepath.Base(path), b, want)
		}
		return nil
	})
}

// TestHookStateSurvivesClientRestart: what a hook saved is handed back to
// the runner a restarted client builds from a reopened state DB, and the
// allocation's destroy deletes it.
func TestHookStateSurvivesClientRestart(t *testing.T) {
	e := newEnv(t)
	dbDir := t.TempDir()
	db, err := state.Open(dbDir, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	a := alloc(structs.JobTypeService, task("web", `exec sleep 300`))
	first := e.build(e.config(a))
	saver := newProbe("services")
	saver.save = []byte("registered web-1 with id abc")
	insertAfter(t, first, "network", saver)
	go first.Run()
	if saver.prerunReq(t); saver.prerunErr != nil {
		t.Fatalf("save: %v", saver.prerunErr)
	}
	waitStatus(t, first, structs.AllocClientStatusRunning)
	first.Shutdown() // as on a client restart: the task keeps running
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = state.Open(dbDir, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	cfg := e.config(a)
	ls, st, err := db.TaskRunnerState(a.ID, "web")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Restored = map[string]RestoredTask{"web": {State: st, Local: ls}}
	second, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	reader := newProbe("services")
	insertAfter(t, second, "network", reader)
	go second.Run()
	if got := reader.prerunReq(t).State.Saved(); !bytes.Equal(got, saver.save) {
		t.Fatalf("restored state %q, want %q", got, saver.save)
	}
	waitStatus(t, second, structs.AllocClientStatusRunning)
	if second.TaskRunner("web").TaskID() == "" {
		t.Fatal("task not re-attached")
	}

	second.Destroy()
	<-second.DestroyCh()
	if saved, err := db.AllocHookStates(a.ID); err != nil || len(saved) != 0 {
		t.Fatalf("after destroy: %v %v", saved, err)
	}
}

// TestNetworkMoverIsCalled: a hook implementing NetworkMover is told of a
// namespace a repair moved the allocation into, sees the new network, and
// the running task it names restarts to join it.
func TestNetworkMoverIsCalled(t *testing.T) {
	e := newEnv(t)
	script := `echo start >> "$NOMAD_ALLOC_DIR/starts"; exec sleep 300`
	ar := e.build(e.config(alloc(structs.JobTypeService, task("web", script))))
	mover := newProbe("proxy")
	mover.rejoin = []string{"web"}
	insertAfter(t, ar, "network", mover)
	go ar.Run()
	waitStatus(t, ar, structs.AllocClientStatusRunning)
	waitFile(t, filepath.Join(ar.AllocDir().SharedDir, "starts"), "start\n")

	res := &NetworkResult{NSPath: "/var/run/netns/moved", Status: &structs.AllocNetworkStatus{Address: "10.99.0.9"}}
	ar.NetworkMoved(testutil.Context(t), res)
	mover.mu.Lock()
	moved := mover.moved
	mover.mu.Unlock()
	if len(moved) != 1 || moved[0].Network != res || moved[0].Recovering {
		t.Fatalf("mover saw %+v", moved)
	}
	waitFile(t, filepath.Join(ar.AllocDir().SharedDir, "starts"), "start\nstart\n")
	st := ar.TaskStates()["web"]
	if !slices.ContainsFunc(st.Events, func(ev *structs.TaskEvent) bool {
		return strings.Contains(ev.RestartReason, "namespace was made anew")
	}) {
		t.Fatalf("no rejoin restart: %s", describeAlloc(ar))
	}
}
