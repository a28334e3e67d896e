package httpapi_test

import (
	"strings"
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
