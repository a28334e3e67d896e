package ui_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/agent"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/ui"
)

// TestJobPageFirstReadsPreloaded: the job page's HTML starts the page's
// first reads (the job, its allocations, evaluations, summary and
// deployments) and the page uses those answers instead of asking again:
// each is read once, by the preload. The job's ID needs escaping (a + is
// %2B in the page's URLs), so the preloads must name the very URLs the
// page's script builds.
func TestJobPageFirstReadsPreloaded(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, func(c *agent.Config) { c.Server.HeartbeatGrace = time.Hour })
	simulatedJob(t, la, "first+reads", 3)
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/jobs/first+reads")
	b.waitText("main", "first+reads")
	for _, sub := range []string{"", "/allocations", "/evaluations", "/summary", "/deployments"} {
		path := "/v1/job/first%2Breads" + sub
		got, err := eval[[]string](b, fmt.Sprintf(`performance.getEntriesByType("resource")
		  .filter((e) => new URL(e.name).pathname + new URL(e.name).search === %q).map((e) => e.initiatorType)`, path))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != "link" {
			t.Errorf("%s was read by %v, want once, by the page's preload (link)", path, got)
		}
	}
	b.check()
}

// TestFirstReadsOnlyWhereKnown: only the job page gets preloads; a Nomad
// id@namespace link (the router rewrites it first) and other pages get
// none, and a namespace in the query is carried into every read.
func TestFirstReadsOnlyWhereKnown(t *testing.T) {
	cases := []struct {
		path string
		want []string
	}{
		{"/ui/jobs/web", []string{`href="/v1/job/web"`, `href="/v1/job/web/allocations"`, `href="/v1/job/web/deployments"`}},
		{"/ui/jobs/a%20b?namespace=prod+x", []string{`href="/v1/job/a%20b/summary?namespace=prod+x"`}},
		{"/ui/jobs/web@prod", nil},
		{"/ui/jobs", nil},
		{"/ui/allocations/x", nil},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		ui.Handler().ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
		body, _ := io.ReadAll(rec.Result().Body)
		n := strings.Count(string(body), `rel="preload" as="fetch"`)
		if c.want == nil && n != 0 {
			t.Errorf("%s: %d preloads, want none", c.path, n)
		}
		if c.want != nil && n != 5 {
			t.Errorf("%s: %d preloads, want 5", c.path, n)
		}
		for _, w := range c.want {
			if !strings.Contains(string(body), w) {
				t.Errorf("%s: no %s in the page", c.path, w)
			}
		}
	}
}

// TestFirstReadEscapesMatchTheBrowser: the preloads escape a job ID as
// encodeURIComponent does and a namespace as URLSearchParams does; a
// mismatch would not fail the page, only read twice.
func TestFirstReadEscapesMatchTheBrowser(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, nil)
	b := newBrowser(t, la.URL, 800, 600)
	b.open("/ui/servers")
	for _, s := range []string{"web", "a b", "a+b", "x/y?z#w", "it's (1)!~*", "ünï-cødé_.", "%41&=;,@$"} {
		comp, err := eval[string](b, fmt.Sprintf("encodeURIComponent(%q)", s))
		if err != nil {
			t.Fatal(err)
		}
		if got := ui.EscapeComponent(s); got != comp {
			t.Errorf("component %q: %q, the browser %q", s, got, comp)
		}
		form, err := eval[string](b, fmt.Sprintf("new URLSearchParams({v: %q}).toString().slice(2)", s))
		if err != nil {
			t.Fatal(err)
		}
		if got := ui.EscapeForm(s); got != form {
			t.Errorf("form %q: %q, the browser %q", s, got, form)
		}
	}
}
