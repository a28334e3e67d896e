package httpapi_test

import (
	"strings"
	"sync"
	"testing"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/internal/apitest"
)

func nomadBatchTemplate(id string) *nomadapi.Job {
	job := nomadapi.NewBatchJob(id, id, "global", 50)
	job.Datacenters = []string{"dc1"}
	task := nomadapi.NewTask("t", "raw_exec").SetConfig("command", "/bin/true").
		Require(&nomadapi.Resources{CPU: ptr(100), MemoryMB: ptr(64)})
	return job.AddTaskGroup(nomadapi.NewTaskGroup("g", 1).AddTask(task))
}

// Nomad's Go client forces a periodic launch and dispatches a
// parameterized job (payload base64 in the body), in Nomad's shapes; the
// parent's summary counts its children and the child is read back by its
// ID, '/' and all.
func TestNomadClientPeriodicAndDispatch(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	jobs := nomadClient(t, c).Jobs()

	periodic := nomadBatchTemplate("tick")
	periodic.Periodic = &nomadapi.PeriodicConfig{Specs: []string{"0 0 1 1 *"}, ProhibitOverlap: ptr(true)}
	if _, _, err := jobs.Register(periodic, nil); err != nil {
		t.Fatal(err)
	}
	evalID, wm, err := jobs.PeriodicForce("tick", nil)
	if err != nil || evalID == "" || wm.LastIndex == 0 {
		t.Fatalf("PeriodicForce: %q %+v %v", evalID, wm, err)
	}
	c.WaitEval(t, evalID)

	param := nomadBatchTemplate("convert")
	param.ParameterizedJob = &nomadapi.ParameterizedJobConfig{Payload: "required", MetaRequired: []string{"input"}}
	if _, _, err := jobs.Register(param, nil); err != nil {
		t.Fatal(err)
	}
	resp, _, err := jobs.Dispatch("convert", map[string]string{"input": "x"}, []byte("payload\x00bytes"), "", nil)
	if err != nil || !strings.HasPrefix(resp.DispatchedJobID, "convert/dispatch-") || resp.EvalID == "" {
		t.Fatalf("Dispatch: %+v %v", resp, err)
	}
	child, _, err := jobs.Info(resp.DispatchedJobID, nil)
	if err != nil || string(child.Payload) != "payload\x00bytes" || *child.ParentID != "convert" || !child.Dispatched {
		t.Fatalf("dispatched child %+v: %v", child, err)
	}
	for _, id := range []string{"tick", "convert"} {
		sum, _, err := jobs.Summary(id, nil)
		if err != nil || sum.Children == nil || sum.Children.Pending+sum.Children.Running+sum.Children.Dead != 1 {
			t.Fatalf("summary of %s: %+v %v, want one child", id, sum, err)
		}
	}

	_, _, err = jobs.Dispatch("convert", map[string]string{"other": "x"}, nil, "", nil)
	var ue nomadapi.UnexpectedResponseError
	if !asUnexpected(err, &ue) || ue.StatusCode() != 400 || !strings.Contains(err.Error(), "payload is required") ||
		!strings.Contains(err.Error(), `"other" are not permitted`) {
		t.Fatalf("bad dispatch: %v, want a 400 naming every problem", err)
	}
	if _, _, err := jobs.PeriodicForce("convert", nil); !asUnexpected(err, &ue) || ue.StatusCode() != 400 {
		t.Fatalf("force of a parameterized job: %v, want 400", err)
	}
}

func asUnexpected(err error, out *nomadapi.UnexpectedResponseError) bool {
	u, ok := err.(nomadapi.UnexpectedResponseError)
	if ok {
		*out = u
	}
	return ok
}

// A dispatch carrying an idempotency token (sent by Nomad's Go client as
// ?idempotency_token=) creates at most one child per token: a retry, even
// one racing the first, gets the existing child back and no new evaluation.
func TestNomadClientDispatchIdempotencyToken(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	jobs := nomadClient(t, c).Jobs()
	register := func(t *testing.T, id string) {
		param := nomadBatchTemplate(id)
		param.ParameterizedJob = &nomadapi.ParameterizedJobConfig{Payload: "optional"}
		if _, _, err := jobs.Register(param, nil); err != nil {
			t.Fatal(err)
		}
	}
	dispatch := func(t *testing.T, id, token string) *nomadapi.JobDispatchResponse {
		resp, _, err := jobs.Dispatch(id, nil, nil, "", &nomadapi.WriteOptions{IdempotencyToken: token})
		if err != nil {
			t.Errorf("dispatch %s with token %q: %v", id, token, err)
			return nil
		}
		return resp
	}
	children := func(t *testing.T, id string) []string {
		list, _, err := jobs.PrefixList(id + "/dispatch-")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range list {
			out = append(out, s.ID)
		}
		return out
	}

	t.Run("retry returns the first child", func(t *testing.T) {
		register(t, "retry")
		first, second := dispatch(t, "retry", "abc"), dispatch(t, "retry", "abc")
		if first == nil || second == nil {
			t.FailNow()
		}
		if second.DispatchedJobID != first.DispatchedJobID || second.EvalID != "" || second.JobCreateIndex != first.JobCreateIndex {
			t.Fatalf("retry answered %+v, want child %s (created at %d) and no new evaluation", second, first.DispatchedJobID, first.JobCreateIndex)
		}
		if got := children(t, "retry"); len(got) != 1 {
			t.Fatalf("children %v, want one", got)
		}
		child, _, err := jobs.Info(first.DispatchedJobID, nil)
		if err != nil || child.DispatchIdempotencyToken == nil || *child.DispatchIdempotencyToken != "abc" {
			t.Fatalf("child %+v: %v, want DispatchIdempotencyToken abc", child, err)
		}
	})
	t.Run("different tokens make different children", func(t *testing.T) {
		register(t, "distinct")
		a, b := dispatch(t, "distinct", "a"), dispatch(t, "distinct", "b")
		if a == nil || b == nil || a.DispatchedJobID == b.DispatchedJobID || b.EvalID == "" {
			t.Fatalf("dispatches %+v %+v, want two children each with an evaluation", a, b)
		}
		if got := children(t, "distinct"); len(got) != 2 {
			t.Fatalf("children %v, want two", got)
		}
		child, _, err := jobs.Info(b.DispatchedJobID, nil)
		if err != nil || child.DispatchIdempotencyToken == nil || *child.DispatchIdempotencyToken != "b" {
			t.Fatalf("child %+v: %v, want DispatchIdempotencyToken b", child, err)
		}
	})
	t.Run("an oversized token is refused", func(t *testing.T) {
		register(t, "big")
		_, _, err := jobs.Dispatch("big", nil, nil, "", &nomadapi.WriteOptions{IdempotencyToken: strings.Repeat("x", 257)})
		var ue nomadapi.UnexpectedResponseError
		if !asUnexpected(err, &ue) || ue.StatusCode() != 400 || !strings.Contains(err.Error(), "the limit is 256") {
			t.Fatalf("dispatch with a 257-byte token: %v, want a 400 naming the limit", err)
		}
	})
	t.Run("concurrent dispatches with one token make one child", func(t *testing.T) {
		register(t, "race")
		const n = 8
		ids := make([]string, n)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := dispatch(t, "race", "once"); r != nil {
					ids[i] = r.DispatchedJobID
				}
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] || id == "" {
				t.Fatalf("dispatches answered %v, want one child ID", ids)
			}
		}
		if got := children(t, "race"); len(got) != 1 {
			t.Fatalf("children %v, want one", got)
		}
	})
}
