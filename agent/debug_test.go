package agent

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roam-sh/roam/httpapi"
)

func TestPprofServedBesideTheAPI(t *testing.T) {
	h := httpapi.New(httpapi.Config{Debug: pprofHandler()})
	for path, want := range map[string]string{
		"/debug/pprof/":                  "goroutine",
		"/debug/pprof/goroutine?debug=1": "goroutine profile",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, localRequest(path))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s: %d %.80q, want 200 containing %q", path, rec.Code, rec.Body.String(), want)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, localRequest("/debug/pprof-not-a-route"))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /debug/pprof-not-a-route: %d, want 404", rec.Code)
	}
}

// TestSecurityBrowsersPprof: the profiler sits behind the browser rules
// like the API (a page could otherwise make the agent profile itself for
// minutes). Before the rules, withPprof routed /debug/pprof/ around the
// API's middleware and this answered 200.
func TestSecurityBrowsersPprof(t *testing.T) {
	h := httpapi.New(httpapi.Config{Debug: pprofHandler()})
	req := localRequest("/debug/pprof/")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "cross-site") {
		t.Fatalf("cross-site GET /debug/pprof/: %d %q, want 403", rec.Code, rec.Body.String())
	}
}

// localRequest is a GET as curl sends it to the agent on loopback.
func localRequest(path string) *http.Request {
	r := httptest.NewRequest("GET", path, nil)
	r.Host = "127.0.0.1:4646"
	return r
}
