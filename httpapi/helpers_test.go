package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
)

// response is a completed HTTP exchange.
type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r *response) text() string { return strings.TrimSpace(string(r.body)) }

// call sends a request with an optional body (string, []byte or a value to
// encode as JSON).
func call(t *testing.T, c *apitest.Cluster, method, path string, body any) *response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, c.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{code: resp.StatusCode, header: resp.Header, body: out}
}

// mustCall is call that fails the test unless the status is want.
func mustCall(t *testing.T, c *apitest.Cluster, want int, method, path string, body any) *response {
	t.Helper()
	r := call(t, c, method, path, body)
	if r.code != want {
		t.Fatalf("%s %s: status %d, want %d; body: %s", method, path, r.code, want, r.text())
	}
	return r
}

// decode decodes a response body into out.
func decode[T any](t *testing.T, r *response) T {
	t.Helper()
	var out T
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("decode %T from %s: %v", out, r.text(), err)
	}
	return out
}

// register registers job over HTTP and waits for its evaluation and for
// the deployment it started to end (the simulated nodes report health).
func register(t *testing.T, c *apitest.Cluster, job *structs.Job) *structs.JobRegisterResponse {
	t.Helper()
	r := mustCall(t, c, http.StatusOK, http.MethodPut, "/v1/jobs", map[string]any{"Job": job})
	resp := decode[structs.JobRegisterResponse](t, r)
	if resp.EvalID == "" {
		t.Fatalf("register %s: no evaluation in %s", job.ID, r.text())
	}
	if e := c.WaitEval(t, resp.EvalID); e.DeploymentID != "" {
		c.WaitDeploymentEnded(t, e.DeploymentID)
	}
	return &resp
}

// stateFingerprint summarises what a write could change, to prove that
// rejected requests change nothing.
func stateFingerprint(t *testing.T, c *apitest.Cluster) [4]uint64 {
	t.Helper()
	st := c.Server.State()
	latest, err := st.LatestIndex()
	if err != nil {
		t.Fatal(err)
	}
	return [4]uint64{latest, st.JobsIndex(nil), st.EvalsIndex(nil), st.NodesIndex(nil)}
}

// assertMetaHeaders checks the headers Nomad's Go client parses.
func assertMetaHeaders(t *testing.T, r *response) {
	t.Helper()
	for _, h := range []string{"X-Nomad-Index", "X-Nomad-KnownLeader", "X-Nomad-LastContact"} {
		if r.header.Get(h) == "" {
			t.Errorf("missing header %s", h)
		}
	}
}
