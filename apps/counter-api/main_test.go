package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCountIncreases(t *testing.T) {
	srv := httptest.NewServer(&counter{hostname: "h"})
	defer srv.Close()
	for want := int64(1); want <= 3; want++ {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		var r reply
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if r.Count != want || r.Hostname != "h" {
			t.Fatalf("got %+v, want count %d", r, want)
		}
	}
}
