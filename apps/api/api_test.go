package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestAnswersWithWhatPaymentsSaid(t *testing.T) {
	payments := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"count":3}`))
	}))
	defer payments.Close()
	gone := httptest.NewServer(nil)
	gone.Close()
	for _, tc := range []struct {
		name     string
		upstream string
		code     int
		payments string
	}{
		{"reached", payments.URL, http.StatusOK, `{"count":3}`},
		{"unreachable", gone.URL, http.StatusBadGateway, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer((&api{upstream: tc.upstream, client: &http.Client{Timeout: time.Second}}).routes())
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var r reply
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.code || r.Payments != tc.payments || r.Upstream != tc.upstream {
				t.Fatalf("got %d %+v", resp.StatusCode, r)
			}
			if tc.code != http.StatusOK && r.Error == "" {
				t.Fatal("no error said")
			}
		})
	}
}

func TestUpstreamFromEnvironment(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "http://127.0.0.1:9091"},
		{map[string]string{"NOMAD_UPSTREAM_ADDR_payments": "127.0.0.2:9091"}, "http://127.0.0.2:9091"},
		{map[string]string{"PAYMENTS_URL": "http://x:1", "NOMAD_UPSTREAM_ADDR_payments": "127.0.0.2:9091"}, "http://x:1"},
	} {
		if got := upstreamURL(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.env, got, tc.want)
		}
	}
}
