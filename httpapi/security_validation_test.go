package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
)

// refused sends a request that must be a 400 whose message contains want,
// and that changes nothing in the state.
func refused(t *testing.T, c *apitest.Cluster, method, path string, body any, want string) {
	t.Helper()
	before := stateFingerprint(t, c)
	r := call(t, c, method, path, body)
	if r.code != http.StatusBadRequest || !strings.Contains(r.text(), want) {
		t.Errorf("%s %q: %d %q, want 400 containing %q", method, path, r.code, r.text(), want)
	}
	if after := stateFingerprint(t, c); after != before {
		t.Errorf("%s %q: refused request changed the state (%v → %v)", method, path, before, after)
	}
}

// TestSecurityValidationJobRegister: jobs with an invalid cron spec, a
// negative disconnect duration, an unknown namespace or region, or a control
// character in a name are refused with a 400 naming the problem, through
// both register routes and the validate route's answer.
func TestSecurityValidationJobRegister(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	neg := -time.Minute
	cases := map[string]struct {
		mod  func(j *structs.Job)
		want string
	}{
		"cron": {func(j *structs.Job) {
			j.Type = structs.JobTypeBatch
			j.TaskGroups[0].Update, j.TaskGroups[0].Migrate = nil, nil
			j.Periodic = &structs.PeriodicConfig{Enabled: true, SpecType: "cron", Spec: "* * * * 9"}
		}, `invalid cron spec "* * * * 9"`},
		"lost_after": {func(j *structs.Job) { j.TaskGroups[0].Disconnect = &structs.DisconnectStrategy{LostAfter: neg} }, "LostAfter must not be negative"},
		"stop_on_client_after": {func(j *structs.Job) {
			j.TaskGroups[0].Disconnect = &structs.DisconnectStrategy{StopOnClientAfter: &neg}
		}, "StopOnClientAfter must not be negative"},
		"max_client_disconnect": {func(j *structs.Job) { j.TaskGroups[0].MaxClientDisconnect = &neg }, "MaxClientDisconnect must not be negative"},
		"namespace":             {func(j *structs.Job) { j.Namespace = "prod" }, `namespace "prod" does not exist; known namespaces: default`},
		"region":                {func(j *structs.Job) { j.Region = "mars" }, `region "mars" does not exist; this cluster serves region "global"`},
		"priority":              {func(j *structs.Job) { j.Priority = 1000 }, "job priority 1000 is out of range"},
		"id newline":            {func(j *structs.Job) { j.ID = "web\nforged" }, "control character U+000A"},
		"task name escape":      {func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Name = "t\x1b[31m" }, "control character U+001B"},
		"meta key":              {func(j *structs.Job) { j.Meta = map[string]string{"A\x00B": "x"} }, "Meta key"},
	}
	for name, tc := range cases {
		job := apitest.Job("v-"+strings.ReplaceAll(name, " ", "-"), 1)
		tc.mod(job)
		refused(t, c, http.MethodPut, "/v1/jobs", map[string]any{"Job": job}, tc.want)
		// Over the path routes, an ID with a control character is refused
		// by the path check before the job is read; the others by validation.
		want := tc.want
		if structs.CheckPrintable(job.ID) != nil {
			want = "invalid path"
		}
		refused(t, c, http.MethodPut, "/v1/job/"+url.PathEscape(job.ID), map[string]any{"Job": job}, want)
		refused(t, c, http.MethodPut, "/v1/job/"+url.PathEscape(job.ID)+"/plan", map[string]any{"Job": job}, want)
	}
	// A namespace named by the request, not the job, is checked the same way.
	job := apitest.Job("v-request-ns", 1)
	job.Namespace = ""
	refused(t, c, http.MethodPut, "/v1/jobs?namespace=prod", map[string]any{"Job": job}, `namespace "prod" does not exist`)
}

// TestSecurityValidationEvalPriority: an eval_priority outside 1..100 is a
// 400 on register and deregister.
func TestSecurityValidationEvalPriority(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	register(t, c, apitest.Job("prio", 1))
	for _, p := range []int{-1, 101, 1 << 30} {
		refused(t, c, http.MethodPut, "/v1/jobs", map[string]any{"Job": apitest.Job("prio", 2), "EvalPriority": p}, "evaluation priority")
	}
	for _, p := range []string{"-5", "101", "2147483648"} {
		refused(t, c, http.MethodDelete, "/v1/job/prio?eval_priority="+p, nil, "evaluation priority")
	}
	mustCall(t, c, http.StatusOK, http.MethodDelete, "/v1/job/prio?eval_priority=100", nil)
}

// TestSecurityValidationControlCharsInURL: an ID with a control character in
// any URL path, or a namespace or region parameter with one, is a 400 before
// any route runs, for reads and writes alike.
func TestSecurityValidationControlCharsInURL(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	for _, rq := range []struct{ method, path string }{
		{http.MethodGet, "/v1/job/web%0Aforged"},
		{http.MethodDelete, "/v1/job/web%0D%0A?purge=true"},
		{http.MethodGet, "/v1/job/a%1B%5B2J/allocations"},
		{http.MethodPut, "/v1/job/a%00b/evaluate"},
		{http.MethodGet, "/v1/evaluation/%7F"},
		{http.MethodGet, "/v1/allocation/x%C2%85y"},
		{http.MethodPut, "/v1/allocation/x%09/stop"},
		{http.MethodGet, "/v1/node/n%0A"},
		{http.MethodPut, "/v1/node/n%0A/eligibility"},
		{http.MethodGet, "/v1/client/fs/ls/a%0Ab?path=/"},
		{http.MethodGet, "/v1/job/a%FFb"},
		{http.MethodGet, "/v1/jobs?namespace=default%0A"},
		{http.MethodGet, "/v1/jobs?region=global%1B"},
		// Invisible and direction-changing characters (Cf, Zl, Zp).
		{http.MethodGet, "/v1/job/web%E2%80%AEexe"},             // U+202E
		{http.MethodGet, "/v1/job/we%E2%80%8Bb"},                // U+200B
		{http.MethodDelete, "/v1/job/web%E2%80%A8forged"},       // U+2028
		{http.MethodGet, "/v1/allocation/x%E2%80%A9"},           // U+2029
		{http.MethodGet, "/v1/job/%EF%BB%BFweb/allocations"},    // U+FEFF
		{http.MethodGet, "/v1/jobs?namespace=default%E2%81%A6"}, // U+2066
	} {
		refused(t, c, rq.method, rq.path, nil, "invalid")
	}
	// Data in other parameters is not an ID: a prefix search for a plain
	// name still works.
	mustCall(t, c, http.StatusOK, http.MethodGet, "/v1/jobs?prefix=web", nil)
	// Letters of any script pass the check: an unknown job is a 404, not a 400.
	mustCall(t, c, http.StatusNotFound, http.MethodGet, "/v1/job/caf%C3%A9-%E6%97%A5%E6%9C%AC", nil)
}
