package api_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
)

func TestAddressFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := []struct {
		env  map[string]string
		want string
	}{
		{nil, api.DefaultAddress},
		{map[string]string{"NOMAD_ADDR": "http://n:1"}, "http://n:1"},
		{map[string]string{"NOMAD_ADDR": "http://n:1", "ROAM_ADDR": "http://r:1"}, "http://r:1"},
	}
	for _, tc := range cases {
		if got := api.AddressFromEnv(env(tc.env)); got != tc.want {
			t.Errorf("AddressFromEnv(%v) = %q, want %q", tc.env, got, tc.want)
		}
	}
}

func TestNewClientRejectsBadAddresses(t *testing.T) {
	for _, addr := range []string{"ftp://x:1", "http://", "http://[::1"} {
		if _, err := api.NewClient(api.Config{Address: addr}); err == nil {
			t.Errorf("NewClient(%q) accepted", addr)
		}
	}
	c, err := api.NewClient(api.Config{Address: "127.0.0.1:4646"})
	if err != nil || c.Address() != "http://127.0.0.1:4646" {
		t.Errorf("host:port address: %v %v", c, err)
	}
}

// TestQueryOptionsAndErrors checks the parameters and headers a query sends
// and reads, and that a non-2xx status becomes a *StatusError.
func TestQueryOptionsAndErrors(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		if r.URL.Path == "/v1/job/missing" {
			http.Error(w, "job not found", http.StatusNotFound)
			return
		}
		w.Header().Set("X-Nomad-Index", "42")
		w.Header().Set("X-Nomad-KnownLeader", "true")
		w.Header().Set("X-Nomad-LastContact", "7")
		_, _ = w.Write([]byte("[]"))
	}))
	defer srv.Close()
	c, err := api.NewClient(api.Config{Address: srv.URL, Namespace: "ns1", Token: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	_, qm, err := c.Jobs().List(&api.QueryOptions{WaitIndex: 5, WaitTime: 2 * time.Second, Prefix: "we", Filter: `Type == "batch"`})
	if err != nil {
		t.Fatal(err)
	}
	q := got.URL.Query()
	for k, want := range map[string]string{"index": "5", "wait": "2000ms", "prefix": "we", "filter": `Type == "batch"`, "namespace": "ns1"} {
		if q.Get(k) != want {
			t.Errorf("query %s = %q, want %q", k, q.Get(k), want)
		}
	}
	if got.Header.Get("X-Nomad-Token") != "secret" {
		t.Errorf("token header %q", got.Header.Get("X-Nomad-Token"))
	}
	if qm.LastIndex != 42 || !qm.KnownLeader || qm.LastContact != 7*time.Millisecond {
		t.Errorf("query meta %+v", qm)
	}
	_, _, err = c.Jobs().Info("missing", nil)
	var se *api.StatusError
	if !errors.As(err, &se) || se.Code != 404 || se.Body != "job not found" || !api.IsNotFound(err) {
		t.Errorf("missing job error = %#v", err)
	}
}
