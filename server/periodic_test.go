package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// Specs for tests: one that fires every second, and one that fires on
// January 1st only, so that the launcher never launches during a test and
// only the test's own launches happen.
const (
	everySecond = "*/1 * * * * * *"
	yearly      = "0 0 1 1 *"
)

// periodicJob is a batch job launched on spec.
func periodicJob(id, spec string, overlap bool) *structs.Job {
	job := testJob(id, 1)
	job.Type = structs.JobTypeBatch
	job.Update = structs.UpdateStrategy{}
	job.TaskGroups[0].ReschedulePolicy = structs.DefaultReschedulePolicy(structs.JobTypeBatch)
	job.TaskGroups[0].RestartPolicy = structs.DefaultRestartPolicy(structs.JobTypeBatch)
	job.Periodic = &structs.PeriodicConfig{Enabled: true, Spec: spec, ProhibitOverlap: overlap}
	return job
}

func children(t *testing.T, s *Server, parent string) []*structs.Job {
	t.Helper()
	out, err := s.State().JobChildren(nil, structs.DefaultNamespace, parent)
	must(t, err)
	return out
}

// waitChildren waits until parent has at least n children.
func waitChildren(t *testing.T, s *Server, parent string, n int) []*structs.Job {
	t.Helper()
	var out []*structs.Job
	testutil.WaitFor(t, waitLong, func() error {
		out = children(t, s, parent)
		if len(out) < n {
			return fmt.Errorf("job %s has %d children, want %d", parent, len(out), n)
		}
		return nil
	})
	return out
}

// A periodic job launches children on its schedule: each is a batch job
// named <parent>/periodic-<unix time>, with ParentID, evaluated and placed;
// the launch is recorded and the parent's summary counts its children.
func TestPeriodicJobLaunchesOnSchedule(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	reply := registerJob(t, s, periodicJob("tick", everySecond, false))
	if reply.EvalID != "" {
		t.Fatalf("registering a periodic template created evaluation %s", reply.EvalID)
	}
	kids := waitChildren(t, s, "tick", 2)
	for _, c := range kids {
		if !strings.HasPrefix(c.ID, "tick/periodic-") || c.ParentID != "tick" || c.Periodic != nil {
			t.Fatalf("child %q parent %q periodic %+v", c.ID, c.ParentID, c.Periodic)
		}
	}
	waitLiveAllocs(t, s, kids[0].ID, 1)
	evals, _ := s.State().EvalsByJob(nil, structs.DefaultNamespace, kids[0].ID)
	if len(evals) != 1 || evals[0].TriggeredBy != structs.EvalTriggerPeriodicJob {
		t.Fatalf("child evaluations %+v, want one triggered by periodic-job", evals)
	}
	launch, _ := s.State().PeriodicLaunchByID(nil, structs.DefaultNamespace, "tick")
	if launch == nil || launch.Launch.IsZero() {
		t.Fatalf("no launch recorded: %+v", launch)
	}
	var sum structs.JobSummaryResponse
	must(t, s.RPC(structs.MethodJobSummary, &structs.JobSpecificRequest{JobID: "tick"}, &sum))
	if c := sum.JobSummary.Children; c == nil || c.Pending+c.Running+c.Dead < 2 {
		t.Fatalf("children summary %+v, want at least 2", c)
	}
}

// With prohibit_overlap, a launch while a child is still running is
// skipped; once the child completes, the next launch runs.
func TestPeriodicProhibitOverlapSkipsWhileChildRuns(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	job := periodicJob("nightly", yearly, true)
	registerJob(t, s, job)
	parent, _ := s.State().JobByID(nil, structs.DefaultNamespace, "nightly")
	t0 := time.Unix(1_800_000_000, 0)
	must(t, s.launchScheduled(parent, t0))
	first := waitChildren(t, s, "nightly", 1)[0]
	allocs := waitLiveAllocs(t, s, first.ID, 1)

	must(t, s.launchScheduled(parent, t0.Add(time.Hour)))
	if got := children(t, s, "nightly"); len(got) != 1 {
		t.Fatalf("launched %d children while the first runs, want the launch skipped", len(got))
	}

	var reply structs.GenericResponse
	req := &structs.AllocUpdateRequest{Alloc: []*structs.Allocation{{ID: allocs[0].ID, NodeID: allocs[0].NodeID, ClientStatus: structs.AllocClientStatusComplete}},
		WriteRequest: structs.WriteRequest{AuthToken: nodeSecret(t, s, allocs[0].NodeID)}}
	must(t, s.RPC(structs.MethodNodeUpdateAlloc, req, &reply))
	testutil.WaitFor(t, waitLong, func() error {
		if j, _ := s.State().JobByID(nil, structs.DefaultNamespace, first.ID); j.Status != structs.JobStatusDead {
			return fmt.Errorf("first child %s, want dead", j.Status)
		}
		return nil
	})
	must(t, s.launchScheduled(parent, t0.Add(2*time.Hour)))
	if got := children(t, s, "nightly"); len(got) != 2 {
		t.Fatalf("%d children after the first completed, want 2", len(got))
	}
}

// A new leader resumes each job from its last launch: a launch that fell
// due while no server led runs at once; otherwise the next one waits for
// its time.
func TestPeriodicLauncherResumesFromLastLaunch(t *testing.T) {
	s := testServer(t)
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		last time.Time
		want time.Time
	}{
		{"missed while no leader", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), now},
		{"next still ahead", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"never launched", time.Time{}, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for i, c := range cases {
		id := fmt.Sprintf("resume-%d", i)
		job := periodicJob(id, yearly, false)
		job.Canonicalize()
		if !c.last.IsZero() {
			req := &structs.JobRegisterRequest{PeriodicLaunch: &structs.PeriodicLaunch{ID: id, Namespace: structs.DefaultNamespace, Launch: c.last}}
			_, _, err := s.raftApply(structs.JobRegisterRequestType, req)
			must(t, err)
		}
		l := &periodicLauncher{srv: s, logger: s.logger, now: func() time.Time { return now }, jobs: map[structs.NamespacedID]*periodicTracked{}}
		l.sync([]*structs.Job{job})
		if got := l.jobs[job.NamespacedID()].next; !got.Equal(c.want) {
			t.Errorf("%s: next launch %s, want %s", c.name, got, c.want)
		}
	}
}

// The last launch is replicated state: a restarted server still knows it,
// and its launcher goes on launching after it.
func TestPeriodicLaunchSurvivesRestart(t *testing.T) {
	cfg := testConfig(t)
	s := startServer(t, cfg)
	registerNode(t, s)
	registerJob(t, s, periodicJob("tick", everySecond, false))
	waitChildren(t, s, "tick", 1)
	must(t, s.Shutdown())
	before, _ := s.State().PeriodicLaunchByID(nil, structs.DefaultNamespace, "tick")

	cfg.Logger = testutil.Logger(t)
	s2 := startServer(t, cfg)
	testutil.WaitFor(t, waitLong, func() error {
		after, _ := s2.State().PeriodicLaunchByID(nil, structs.DefaultNamespace, "tick")
		if after == nil || !after.Launch.After(before.Launch) {
			return fmt.Errorf("last launch %+v, want one after %s", after, before.Launch)
		}
		return nil
	})
	want := structs.PeriodicChildID("tick", before.Launch)
	if j, _ := s2.State().JobByID(nil, structs.DefaultNamespace, want); j == nil {
		t.Fatalf("child %s launched before the restart is gone", want)
	}
}

// Periodic.Force launches a child now and returns its evaluation; a job
// that is not periodic is a 400.
func TestPeriodicForce(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	registerJob(t, s, periodicJob("report", yearly, true))
	var reply structs.PeriodicForceResponse
	must(t, s.RPC(structs.MethodPeriodicForce, &structs.PeriodicForceRequest{JobID: "report"}, &reply))
	if reply.EvalID == "" || reply.EvalCreateIndex == 0 {
		t.Fatalf("force reply %+v, want an evaluation", reply)
	}
	ev, _ := s.State().EvalByID(nil, reply.EvalID)
	if ev == nil || !strings.HasPrefix(ev.JobID, "report/periodic-") {
		t.Fatalf("forced evaluation %+v", ev)
	}
	waitLiveAllocs(t, s, ev.JobID, 1)

	registerJob(t, s, testJob("web", 1))
	err := s.RPC(structs.MethodPeriodicForce, &structs.PeriodicForceRequest{JobID: "web"}, &reply)
	if ErrorCode(err) != 400 || !strings.Contains(err.Error(), "not periodic") {
		t.Fatalf("force of a service job: %v (code %d), want 400", err, ErrorCode(err))
	}
	err = s.RPC(structs.MethodPeriodicForce, &structs.PeriodicForceRequest{JobID: "nope"}, &reply)
	if ErrorCode(err) != 404 {
		t.Fatalf("force of a missing job: %v, want 404", err)
	}
}

func parameterizedJob(id string) *structs.Job {
	job := periodicJob(id, yearly, false)
	job.Periodic = nil
	job.Meta = map[string]string{"owner": "ops"}
	job.ParameterizedJob = &structs.ParameterizedJobConfig{Payload: "required", MetaRequired: []string{"input"}, MetaOptional: []string{"mode"}}
	return job
}

// Job.Dispatch creates a child with the payload and the meta merged over
// the template's, and evaluates it; the parent's summary counts it.
func TestDispatchCreatesChild(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	if r := registerJob(t, s, parameterizedJob("convert")); r.EvalID != "" {
		t.Fatalf("registering a parameterized template created evaluation %s", r.EvalID)
	}
	var reply structs.JobDispatchResponse
	args := &structs.JobDispatchRequest{JobID: "convert", Payload: []byte("hello"), Meta: map[string]string{"input": "a.txt"}, IdPrefixTemplate: "manual"}
	must(t, s.RPC(structs.MethodJobDispatch, args, &reply))
	if !strings.HasPrefix(reply.DispatchedJobID, "convert/dispatch-manual-") || reply.EvalID == "" {
		t.Fatalf("dispatch reply %+v", reply)
	}
	child, _ := s.State().JobByID(nil, structs.DefaultNamespace, reply.DispatchedJobID)
	if child == nil || !child.Dispatched || child.ParentID != "convert" || string(child.Payload) != "hello" ||
		child.Meta["input"] != "a.txt" || child.Meta["owner"] != "ops" {
		t.Fatalf("dispatched child %+v", child)
	}
	waitLiveAllocs(t, s, child.ID, 1)
	var sum structs.JobSummaryResponse
	must(t, s.RPC(structs.MethodJobSummary, &structs.JobSpecificRequest{JobID: "convert"}, &sum))
	if c := sum.JobSummary.Children; c == nil || c.Pending+c.Running != 1 {
		t.Fatalf("children summary %+v, want one live child", c)
	}
}

// A dispatch the template does not allow is a 400 that says why, and
// creates nothing.
func TestDispatchRefusals(t *testing.T) {
	s := testServer(t)
	registerJob(t, s, parameterizedJob("convert"))
	registerJob(t, s, testJob("web", 1))
	cases := []struct {
		name string
		args structs.JobDispatchRequest
		code int
		want string
	}{
		{"missing payload", structs.JobDispatchRequest{JobID: "convert", Meta: map[string]string{"input": "x"}}, 400, "payload is required"},
		{"missing meta", structs.JobDispatchRequest{JobID: "convert", Payload: []byte("x")}, 400, `required meta keys "input" are missing`},
		{"unknown meta", structs.JobDispatchRequest{JobID: "convert", Payload: []byte("x"), Meta: map[string]string{"input": "x", "color": "red"}}, 400, `meta keys "color" are not permitted`},
		{"payload too big", structs.JobDispatchRequest{JobID: "convert", Payload: make([]byte, structs.DispatchPayloadSizeLimit+1), Meta: map[string]string{"input": "x"}}, 400, "the limit is 16384"},
		{"not parameterized", structs.JobDispatchRequest{JobID: "web"}, 400, "not a parameterized job"},
		{"missing job", structs.JobDispatchRequest{JobID: "nope"}, 404, ""},
	}
	for _, c := range cases {
		err := s.RPC(structs.MethodJobDispatch, &c.args, &structs.JobDispatchResponse{})
		if ErrorCode(err) != c.code || !strings.Contains(fmt.Sprint(err), c.want) {
			t.Errorf("%s: %v (code %d), want %d containing %q", c.name, err, ErrorCode(err), c.code, c.want)
		}
	}
	if got := children(t, s, "convert"); len(got) != 0 {
		t.Fatalf("refused dispatches created %d children", len(got))
	}
}
