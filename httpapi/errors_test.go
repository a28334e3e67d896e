package httpapi_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/httpapi"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/testutil"
)

// TestBadInputs sends requests that must be refused, and checks that each
// gets the right status and a message saying what is wrong, and that none
// changed the cluster state.
func TestBadInputs(t *testing.T) {
	c := apitest.Start(t)
	node := c.RegisterNode(t)
	register(t, c, apitest.Job("web", 1))
	cases := []struct {
		name, method, path string
		body               any
		code               int
		want               string
	}{
		{"malformed JSON", "PUT", "/v1/jobs", `{"Job": {`, 400, "truncated JSON"},
		{"syntax error", "PUT", "/v1/jobs", `{"Job": }`, 400, "malformed JSON"},
		{"trailing data", "PUT", "/v1/jobs", `{"Job": null} {}`, 400, "unexpected data"},
		{"wrong type", "PUT", "/v1/jobs", `{"Job": {"ID": 5}}`, 400, "Job.ID"},
		{"wrong nested type", "PUT", "/v1/jobs", `{"Job": {"ID": "x", "TaskGroups": {"a": 1}}}`, 400, "TaskGroups"},
		{"missing job", "PUT", "/v1/jobs", `{}`, 400, "job must be specified"},
		{"null group", "PUT", "/v1/jobs", `{"Job": {"ID": "n", "TaskGroups": [null]}}`, 400, "Job.TaskGroups[0] is null"},
		{"null volume", "PUT", "/v1/jobs", `{"Job": {"ID": "n", "TaskGroups": [{"Name": "g", "Count": 1, "Volumes": {"a": null},
			"Tasks": [{"Name": "t", "Driver": "raw_exec"}]}]}}`, 400, `Job.TaskGroups[0].Volumes["a"] is null`},
		{"null template in plan", "PUT", "/v1/job/n/plan", `{"Job": {"ID": "n", "TaskGroups": [{"Name": "g", "Count": 1,
			"Tasks": [{"Name": "t", "Driver": "raw_exec", "Templates": [null]}]}]}}`, 400, "Templates[0] is null"},
		{"empty body", "POST", "/v1/jobs", ``, 400, "job must be specified"},
		{"invalid job", "PUT", "/v1/jobs", `{"Job": {"ID": "bad", "Type": "nonsense"}}`, 400, "validation"},
		{"id mismatch", "PUT", "/v1/job/web", `{"Job": {"ID": "other"}}`, 400, "does not match"},
		{"plan id mismatch", "PUT", "/v1/job/web/plan", `{"Job": {"ID": "other"}}`, 400, "does not match"},
		{"plan without job", "PUT", "/v1/job/web/plan", `{}`, 400, "job must be specified"},
		{"check-index conflict", "PUT", "/v1/jobs", map[string]any{"Job": apitest.Job("web", 5), "EnforceIndex": true, "JobModifyIndex": 1}, 400, "modify index"},
		{"bad filter", "GET", "/v1/jobs?filter=ID%20%3D%3D", "", 400, "filter"},
		{"filter on unknown field", "GET", "/v1/jobs?filter=Nope%20%3D%3D%20%22x%22", "", 400, "filter"},
		{"bad index", "GET", "/v1/jobs?index=abc", "", 400, "invalid index"},
		{"negative index", "GET", "/v1/job/web?index=-1", "", 400, "invalid index"},
		{"bad wait", "GET", "/v1/jobs?index=1&wait=forever", "", 400, "invalid wait"},
		{"bad bool", "GET", "/v1/job/web/allocations?all=maybe", "", 400, "invalid all"},
		{"bad purge", "DELETE", "/v1/job/web?purge=yes%20please", "", 400, "invalid purge"},
		{"bad per_page", "GET", "/v1/jobs?per_page=x", "", 400, "invalid per_page"},
		{"bad eligibility", "PUT", "/v1/node/" + node.ID + "/eligibility", `{"Eligibility": "maybe"}`, 400, "eligib"},
		{"revert id mismatch", "PUT", "/v1/job/web/revert", `{"JobID": "x", "JobVersion": 0}`, 400, "does not match"},
		{"revert unknown version", "PUT", "/v1/job/web/revert", `{"JobVersion": 42}`, 404, "not found"},
		{"revert unknown job", "PUT", "/v1/job/nope/revert", `{"JobVersion": 0}`, 404, "not found"},
		{"wrong method", "DELETE", "/v1/jobs", "", 405, ""},
		{"plan with GET", "GET", "/v1/job/web/plan", "", 405, ""},
		{"drain with GET", "GET", "/v1/node/" + node.ID + "/drain", "", 405, ""},
		{"unknown path", "GET", "/v1/nonsense", "", 404, ""},
		{"parse without HCL", "PUT", "/v1/jobs/parse", `{}`, 400, "JobHCL"},
		{"client endpoint of an unknown alloc", "GET", "/v1/client/fs/ls/abc", "", 404, "alloc not found"},
		{"client endpoints without a client", "GET", "/v1/client/gc", "", 501, "client endpoints"},
	}
	before := stateFingerprint(t, c)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, c, tc.method, tc.path, tc.body)
			if r.code != tc.code {
				t.Fatalf("status %d, want %d; body %q", r.code, tc.code, r.text())
			}
			if !strings.Contains(r.text(), tc.want) {
				t.Errorf("body %q does not mention %q", r.text(), tc.want)
			}
			if tc.code < 500 && tc.code != 404 && tc.code != 405 && !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
				t.Errorf("error content type %q", r.header.Get("Content-Type"))
			}
		})
	}
	if after := stateFingerprint(t, c); after != before {
		t.Errorf("rejected requests changed the state: indexes %v -> %v", before, after)
	}
}

func TestBodyLimit(t *testing.T) {
	c := apitest.Start(t, apitest.Options{MaxBodyBytes: 4096})
	before := stateFingerprint(t, c)
	big := `{"Job": {"ID": "big", "Meta": {"x": "` + strings.Repeat("a", 8192) + `"}}}`
	if r := call(t, c, "PUT", "/v1/jobs", big); r.code != http.StatusRequestEntityTooLarge {
		t.Errorf("big body: status %d, want 413; %s", r.code, r.text())
	}
	// A chunked body has no Content-Length: the limit applies while reading.
	req, _ := http.NewRequest("PUT", c.URL+"/v1/jobs", struct{ *strings.Reader }{strings.NewReader(big)})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked big body: status %d, want 413", resp.StatusCode)
	}
	// A snapshot restore has its own, larger bound (a state bigger than the
	// general limit must restore): the archive is read and judged, not
	// refused for its size.
	if r := call(t, c, "PUT", "/v1/operator/snapshot", big); r.code != http.StatusBadRequest || !strings.Contains(r.text(), "snapshot archive") {
		t.Errorf("restore bigger than the general limit: status %d, want 400 for the archive itself; %s", r.code, r.text())
	}
	if after := stateFingerprint(t, c); after != before {
		t.Errorf("rejected body changed the state")
	}
}

// panicRPC panics on every call, standing in for a server bug.
type panicRPC struct{}

func (panicRPC) RPC(string, any, any) error { panic("boom") }

func TestPanicIsRecovered(t *testing.T) {
	srv := httptest.NewServer(httpapi.New(httpapi.Config{RPC: panicRPC{}, Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	for i := 0; i < 2; i++ {
		resp, err := http.Get(srv.URL + "/v1/jobs")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("status %d, want 500", resp.StatusCode)
		}
	}
	resp, err := http.Get(srv.URL + "/v1/agent/self")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented {
		t.Errorf("agent/self without AgentInfo: status %d, want 501", resp.StatusCode)
	}
}

func TestPretty(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	r := mustCall(t, c, 200, "GET", "/v1/nodes?pretty", nil)
	if !strings.Contains(r.text(), "\n    {") {
		t.Errorf("?pretty output not indented: %.80s", r.text())
	}
	if r := mustCall(t, c, 200, "GET", "/v1/nodes", nil); strings.Contains(r.text(), "\n ") {
		t.Errorf("output indented without ?pretty")
	}
}

// sickAgent reports an unhealthy server role.
type sickAgent struct{}

func (sickAgent) Self() (*api.AgentSelf, error)        { return &api.AgentSelf{}, nil }
func (sickAgent) Members() (*api.ServerMembers, error) { return &api.ServerMembers{}, nil }
func (sickAgent) Health() *api.AgentHealthResponse {
	return &api.AgentHealthResponse{Server: &api.AgentHealth{Ok: false, Message: "no cluster leader"}}
}

func TestUnhealthyAgent(t *testing.T) {
	srv := httptest.NewServer(httpapi.New(httpapi.Config{RPC: panicRPC{}, Agent: sickAgent{}}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/agent/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("unhealthy agent: status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	c, err := api.NewClient(api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Agent().Health()
	if err != nil || h.Healthy() || h.Server.Message != "no cluster leader" {
		t.Errorf("api Health() = %+v, %v", h, err)
	}
	members, err := c.Agent().Members()
	if err != nil || members.Members == nil {
		t.Errorf("members of an agent without servers: %+v, %v (want an empty list)", members, err)
	}
}

// countingZeros is an endless body of zero bytes that counts what was read.
type countingZeros struct{ n atomic.Int64 }

func (z *countingZeros) Read(p []byte) (int, error) {
	clear(p)
	z.n.Add(int64(len(p)))
	return len(p), nil
}

// TestSnapshotRestoreRefusesEarlyAndAlone: a restore body that is not a gzip
// stream is refused from its first bytes (before, the agent buffered up to
// its 1 GiB limit first: ten such requests took the host's memory), and a
// second restore while one is running gets 429.
func TestSnapshotRestoreRefusesEarlyAndAlone(t *testing.T) {
	c := apitest.Start(t, apitest.Options{})
	body := &countingZeros{}
	req, _ := http.NewRequest("PUT", c.URL+"/v1/operator/snapshot", body)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), "gzip") {
			t.Errorf("endless non-gzip body: status %d %q, want 400 naming gzip", resp.StatusCode, msg)
		}
	}
	if read := body.n.Load(); read > 64<<20 {
		t.Fatalf("the agent read %d MiB of a body whose first bytes were not gzip", read>>20)
	}

	// A restore that holds the gate: a gzip header, then nothing until the
	// test ends.
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.CloseWithError(io.ErrUnexpectedEOF) })
	go func() {
		r, _ := http.NewRequest("PUT", c.URL+"/v1/operator/snapshot", pr)
		if resp, err := http.DefaultClient.Do(r); err == nil {
			resp.Body.Close()
		}
	}()
	if _, err := pw.Write([]byte{0x1f, 0x8b, 8, 0}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		r := call(t, c, "PUT", "/v1/operator/snapshot", "\x1f\x8b")
		if r.code != http.StatusTooManyRequests {
			return fmt.Errorf("second restore: status %d %q, want 429", r.code, r.text())
		}
		return nil
	})
}
