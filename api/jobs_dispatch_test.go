package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/roam-sh/roam/api"
)

// A child job's ID has a '/' ("batch/periodic-1700000000"): it travels as
// one path segment, %2F, and is not escaped twice (%252F), under a base
// address with a path of its own too.
func TestJobIDWithSlashIsOnePathSegment(t *testing.T) {
	var raw string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw = r.URL.EscapedPath()
		_, _ = w.Write([]byte(`{"ID":"x"}`))
	}))
	defer srv.Close()
	for base, want := range map[string]string{
		srv.URL:             "/v1/job/batch%2Fperiodic-1700000000/summary",
		srv.URL + "/nomad/": "/nomad/v1/job/batch%2Fperiodic-1700000000/summary",
	} {
		c, err := api.NewClient(api.Config{Address: base})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Jobs().Summary("batch/periodic-1700000000", nil); err != nil {
			t.Fatal(err)
		}
		if raw != want {
			t.Errorf("base %s: request path %s, want %s", base, raw, want)
		}
	}
}
