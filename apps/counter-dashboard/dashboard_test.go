package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestShowsTheCount(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"count":42,"hostname":"x"}`))
	}))
	defer api.Close()
	d := httptest.NewServer((&dashboard{serviceURL: api.URL, client: &http.Client{Timeout: time.Second}}).routes())
	defer d.Close()

	if page := get(t, d.URL+"/"); !strings.Contains(page, `<div id="count">42</div>`) || !strings.Contains(page, "/api/count") {
		t.Fatalf("page does not show the count or poll it:\n%s", page)
	}
	var st status
	if err := json.Unmarshal([]byte(get(t, d.URL+"/api/count")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Count == nil || *st.Count != 42 || st.Error != "" {
		t.Fatalf("status %+v", st)
	}
}

func TestSaysWhenTheServiceIsUnreachable(t *testing.T) {
	api := httptest.NewServer(http.NotFoundHandler())
	url := api.URL
	api.Close() // nothing listens there any more
	d := httptest.NewServer((&dashboard{serviceURL: url, client: &http.Client{Timeout: time.Second}}).routes())
	defer d.Close()

	want := "cannot reach the counting service at " + url
	if page := get(t, d.URL+"/"); !strings.Contains(page, want) {
		t.Fatalf("page does not say %q:\n%s", want, page)
	}
	var st status
	if err := json.Unmarshal([]byte(get(t, d.URL+"/api/count")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Count != nil || !strings.HasPrefix(st.Error, want) {
		t.Fatalf("status %+v", st)
	}
}
