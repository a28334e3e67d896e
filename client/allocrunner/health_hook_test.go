package allocrunner

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// memCatalog is the servers' catalog as the hooks see it, in memory: it
// keeps each instance's latest registration.
type memCatalog struct {
	mu   sync.Mutex
	regs map[string]*structs.ServiceRegistration
	// registers counts Register calls per instance ID.
	registers map[string]int
}

func newMemCatalog() *memCatalog {
	return &memCatalog{regs: map[string]*structs.ServiceRegistration{}, registers: map[string]int{}}
}

func (c *memCatalog) Register(_ context.Context, _ string, regs []*structs.ServiceRegistration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range regs {
		c.regs[r.ID] = r
		c.registers[r.ID]++
	}
	return nil
}

func (c *memCatalog) Deregister(_ context.Context, _ string, ids []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.regs, id)
	}
	return nil
}

func (c *memCatalog) UpdateHealth(context.Context, string, []*structs.ServiceHealthUpdate) error {
	return nil
}

// byName returns the registrations of a service.
func (c *memCatalog) byName(name string) []*structs.ServiceRegistration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*structs.ServiceRegistration
	for _, r := range c.regs {
		if r.ServiceName == name {
			out = append(out, r)
		}
	}
	return out
}

// deployed puts a service allocation in deployment "d1" with the group's
// update strategy.
func deployed(a *structs.Allocation, mode string, minHealthy, deadline time.Duration) *structs.Allocation {
	a.DeploymentID = "d1"
	a.Job.TaskGroups[0].Update = &structs.UpdateStrategy{
		MaxParallel: 1, HealthCheck: mode, MinHealthyTime: minHealthy, HealthyDeadline: deadline,
	}
	return a
}

// reportedHealth is the deployment health last sent towards the servers.
func reportedHealth(e *env) *structs.AllocDeploymentStatus {
	if last := e.rec.last(); last != nil {
		return last.DeploymentStatus
	}
	return nil
}

func waitHealth(t *testing.T, e *env, ar *AllocRunner) *structs.AllocDeploymentStatus {
	t.Helper()
	var ds *structs.AllocDeploymentStatus
	testutil.WaitFor(t, 20*time.Second, func() error {
		if ds = reportedHealth(e); ds == nil || ds.Healthy == nil {
			return fmt.Errorf("no health reported yet: %s", describeAlloc(ar))
		}
		return nil
	})
	return ds
}

// waitRunningFor waits until every task has been running for d.
func waitRunningFor(t *testing.T, ar *AllocRunner, d time.Duration) {
	t.Helper()
	testutil.WaitFor(t, 20*time.Second, func() error {
		for name, st := range ar.TaskStates() {
			if st.State != structs.TaskStateRunning || time.Since(st.StartedAt) < d {
				return fmt.Errorf("task %s: %s since %v", name, st.State, st.StartedAt)
			}
		}
		return nil
	})
}

// TestHealthFromTaskStates: with health_check = "task_states", an
// allocation of a deployment is reported healthy once its task ran for
// min_healthy_time; one whose task fails is reported unhealthy, with the
// reason in its task's events; one outside any deployment reports no
// health at all.
func TestHealthFromTaskStates(t *testing.T) {
	t.Run("healthy", func(t *testing.T) {
		e := newEnv(t)
		const minHealthy = 300 * time.Millisecond
		a := deployed(alloc(structs.JobTypeService, task("web", "exec sleep 300")), "task_states", minHealthy, time.Minute)
		ar := e.start(e.config(a))
		ds := waitHealth(t, e, ar)
		started := ar.TaskStates()["web"].StartedAt
		if !*ds.Healthy || ds.Timestamp.Before(started.Add(minHealthy)) {
			t.Fatalf("health %v at %v; task started %v", *ds.Healthy, ds.Timestamp, started)
		}
		if got := ar.Alloc().DeploymentStatus; got == nil || got.Healthy == nil || !*got.Healthy {
			t.Fatalf("the client's view of the allocation has no health: %+v", got)
		}
	})
	t.Run("failed task", func(t *testing.T) {
		e := newEnv(t)
		a := deployed(alloc(structs.JobTypeService, task("web", "exit 3")), "task_states", time.Minute, 10*time.Minute)
		ar := e.start(e.config(a))
		if ds := waitHealth(t, e, ar); *ds.Healthy {
			t.Fatal("a failed task's allocation reported healthy")
		}
		testutil.WaitFor(t, 10*time.Second, func() error {
			if !hasEvent(ar.TaskStates()["web"], structs.TaskAllocUnhealthy) {
				return fmt.Errorf("no %q event: %s", structs.TaskAllocUnhealthy, describeAlloc(ar))
			}
			return nil
		})
	})
	t.Run("no deployment", func(t *testing.T) {
		e := newEnv(t)
		a := deployed(alloc(structs.JobTypeService, task("web", "exec sleep 300")), "task_states", 0, time.Minute)
		a.DeploymentID = ""
		ar := e.start(e.config(a))
		waitRunningFor(t, ar, 200*time.Millisecond)
		if ds := reportedHealth(e); ds != nil {
			t.Fatalf("an allocation outside a deployment reported health %+v", ds)
		}
	})
}

// TestHealthyDeadline: a task that runs, but not for min_healthy_time
// before healthy_deadline, is reported unhealthy at the deadline.
func TestHealthyDeadline(t *testing.T) {
	e := newEnv(t)
	a := deployed(alloc(structs.JobTypeService, task("web", "exec sleep 300")), "task_states", time.Hour, 500*time.Millisecond)
	ar := e.start(e.config(a))
	ds := waitHealth(t, e, ar)
	if *ds.Healthy {
		t.Fatal("reported healthy before min_healthy_time")
	}
	if !hasEvent(ar.TaskStates()["web"], structs.TaskAllocUnhealthy) {
		t.Fatalf("no unhealthy event: %s", describeAlloc(ar))
	}
}

// TestHealthFromChecks: with health_check = "checks", a running task is not
// enough: the allocation is reported healthy only once the group's service
// check passes, and only min_healthy_time after it began to pass.
func TestHealthFromChecks(t *testing.T) {
	e := newEnv(t)
	const minHealthy = 300 * time.Millisecond
	okFile := filepath.Join(t.TempDir(), "ok")
	a := deployed(alloc(structs.JobTypeService, task("web", "exec sleep 300")), "checks", minHealthy, time.Minute)
	a.Job.TaskGroups[0].Services = []*structs.Service{{
		Name: "web", TaskName: "web", Provider: structs.ServiceProviderNomad,
		Checks: []*structs.ServiceCheck{{
			Name: "ready", Type: structs.CheckTypeScript, Command: "/bin/sh", Args: []string{"-c", "test -e " + okFile + " || exit 2"},
			Interval: 100 * time.Millisecond, Timeout: 5 * time.Second,
		}},
	}}
	cfg := e.config(a)
	cfg.Services = newMemCatalog()
	ar := e.start(cfg)

	// The task runs for several times min_healthy_time while its check
	// fails: no health is reported.
	waitRunningFor(t, ar, 3*minHealthy)
	testutil.WaitFor(t, 10*time.Second, func() error {
		if st := ar.CheckStates(); len(st) != 1 || st[0].Last.Time.IsZero() || st[0].Status != structs.HealthCritical {
			return fmt.Errorf("check states %+v", st)
		}
		return nil
	})
	if ds := reportedHealth(e); ds != nil {
		t.Fatalf("health %+v reported while the check fails", ds)
	}

	passFrom := time.Now()
	if err := os.WriteFile(okFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ds := waitHealth(t, e, ar)
	if !*ds.Healthy || ds.Timestamp.Before(passFrom.Add(minHealthy)) {
		t.Fatalf("health %v at %v; the check passes from %v", *ds.Healthy, ds.Timestamp, passFrom)
	}
}

// TestDecidedHealthSurvivesClientRestart: the health decided before a
// client restart is reported again by the restarted client, as it was
// (same timestamp), not judged anew.
func TestDecidedHealthSurvivesClientRestart(t *testing.T) {
	e := newEnv(t)
	dbDir := t.TempDir()
	db, err := state.Open(dbDir, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	const minHealthy = 200 * time.Millisecond
	a := deployed(alloc(structs.JobTypeService, task("web", "exec sleep 300")), "task_states", minHealthy, time.Minute)
	first := e.build(e.config(a))
	go first.Run()
	decided := waitHealth(t, e, first)
	first.Shutdown()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = state.Open(dbDir, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db, e.rec = db, &recorder{}
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
	go second.Run()
	t.Cleanup(func() { second.Destroy(); <-second.DestroyCh() })
	again := waitHealth(t, e, second)
	if *again.Healthy != *decided.Healthy || !again.Timestamp.Equal(decided.Timestamp) {
		t.Fatalf("after the restart: healthy %v at %v; before: %v at %v", *again.Healthy, again.Timestamp, *decided.Healthy, decided.Timestamp)
	}
}

// TestNewDeploymentJudgedAgain: an in-place update that moves the allocation
// into another deployment gets its health decided again, for that one.
func TestNewDeploymentJudgedAgain(t *testing.T) {
	e := newEnv(t)
	a := deployed(alloc(structs.JobTypeService, task("web", "exec sleep 300")), "task_states", 100*time.Millisecond, time.Minute)
	ar := e.start(e.config(a))
	first := waitHealth(t, e, ar)

	next := *a
	next.DeploymentID, next.AllocModifyIndex = "d2", 2
	next.DeploymentStatus = nil
	ar.Update(&next)
	testutil.WaitFor(t, 20*time.Second, func() error {
		ds := reportedHealth(e)
		if ds == nil || ds.Healthy == nil || !ds.Timestamp.After(first.Timestamp) {
			return fmt.Errorf("no new verdict after the update: %+v", ds)
		}
		return nil
	})
}

// TestCanaryServicesFollowPromotion: while the allocation is a canary its
// instances carry canary_tags and canary_meta (group and task services);
// the update that promotes it re-registers them with tags and meta, and
// the task keeps running (not restarted).
func TestCanaryServicesFollowPromotion(t *testing.T) {
	e := newEnv(t)
	stableMeta, canaryMeta := map[string]string{"v": "1", "live": "yes"}, map[string]string{"v": "2"}
	web := task("web", "exec sleep 300")
	web.Services = []*structs.Service{{Name: "web-task", Provider: structs.ServiceProviderNomad,
		Tags: []string{"live"}, CanaryTags: []string{"canary"}, Meta: stableMeta, CanaryMeta: canaryMeta}}
	a := deployed(alloc(structs.JobTypeService, web), "task_states", 0, time.Minute)
	a.Job.TaskGroups[0].Services = []*structs.Service{{Name: "web-group", Provider: structs.ServiceProviderNomad,
		Tags: []string{"live"}, CanaryTags: []string{"canary"}, Meta: stableMeta, CanaryMeta: canaryMeta}}
	a.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	catalog := newMemCatalog()
	cfg := e.config(a)
	cfg.Services = catalog
	ar := e.start(cfg)

	served := func(tags []string, meta map[string]string) func() error {
		return func() error {
			for _, name := range []string{"web-group", "web-task"} {
				regs := catalog.byName(name)
				if len(regs) != 1 || !slices.Equal(regs[0].Tags, tags) || !maps.Equal(regs[0].Meta, meta) {
					return fmt.Errorf("%s: %+v, want tags %v, meta %v", name, regs, tags, meta)
				}
			}
			return nil
		}
	}
	testutil.WaitFor(t, 20*time.Second, served([]string{"canary"}, canaryMeta))
	for _, r := range append(catalog.byName("web-group"), catalog.byName("web-task")...) {
		if !r.Canary {
			t.Fatalf("%s not marked canary", r.ServiceName)
		}
	}
	started := ar.TaskStates()["web"].StartedAt

	promoted := *a
	promoted.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: false}
	promoted.AllocModifyIndex = 2
	ar.Update(&promoted)
	testutil.WaitFor(t, 20*time.Second, served([]string{"live"}, stableMeta))
	st := ar.TaskStates()["web"]
	if st.State != structs.TaskStateRunning || st.Restarts != 0 || !st.StartedAt.Equal(started) {
		t.Fatalf("the task was disturbed by the promotion: %s", describeAlloc(ar))
	}
}
