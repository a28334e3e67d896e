package clientapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/roam-sh/roam/netns/doctor"
)

// GET /v1/client/doctor answers the host check's findings; repeated
// requests share one run (a run creates namespaces and links on the host),
// and an agent without the check says so with 501.
func TestNodeDoctorEndpoint(t *testing.T) {
	runs := 0
	h := New(Config{Doctor: func() []doctor.Check {
		runs++
		return []doctor.Check{{Name: "network namespaces", Status: doctor.OK, Detail: "created and deleted one"}}
	}})
	for range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/client/doctor", nil))
		var got []doctor.Check
		if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != http.StatusOK || err != nil || len(got) != 1 || got[0].Name != "network namespaces" {
			t.Fatalf("doctor answer %d %q (%v)", rec.Code, rec.Body, err)
		}
	}
	if runs != 1 {
		t.Fatalf("three requests ran the host check %d times, want once", runs)
	}
	rec := httptest.NewRecorder()
	New(Config{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/client/doctor", nil))
	if rec.Code != http.StatusNotImplemented {
		t.Fatalf("without a check: %d, want 501", rec.Code)
	}
}
