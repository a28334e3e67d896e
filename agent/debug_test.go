package agent

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWithPprofServesProfilesBesideTheAPI(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("api " + r.URL.Path)) })
	h := withPprof(api)
	for path, want := range map[string]string{
		"/debug/pprof/":                  "goroutine",
		"/debug/pprof/goroutine?debug=1": "goroutine profile",
		"/v1/status/leader":              "api /v1/status/leader",
		"/debug/pprof-not-a-route":       "api /debug/pprof-not-a-route",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s: %d %.80q, want 200 containing %q", path, rec.Code, rec.Body.String(), want)
		}
	}
}
