package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// chromium returns the DOM of url after the page's scripts ran for a few
// seconds of (virtual) time, as a user would see it; it skips where no
// Chromium is installed (make test-setup installs Debian's).
func chromium(t *testing.T, url string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (scripts/test-setup.sh installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=4500", "--dump-dom", url)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return string(out)
}

var countDiv = regexp.MustCompile(`<div id="count">([^<]*)</div>`)
var errorDiv = regexp.MustCompile(`<div id="error">([^<]*)</div>`)

// counter is a counting service whose count grows with every request and
// that, once failAfter requests were answered, drops every connection.
func counter(t *testing.T, failAfter int64) *httptest.Server {
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c := n.Add(1)
		if failAfter > 0 && c > failAfter {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		_, _ = w.Write([]byte(`{"count":` + strconv.FormatInt(c, 10) + `,"hostname":"x"}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func serveDashboard(t *testing.T, serviceURL string) string {
	d := httptest.NewServer((&dashboard{serviceURL: serviceURL, client: &http.Client{Timeout: time.Second}}).routes())
	t.Cleanup(d.Close)
	return d.URL + "/"
}

// TestBrowserSeesTheCountGrow: in a real browser the page, rendered with
// the first count, keeps showing the service's newer counts.
func TestBrowserSeesTheCountGrow(t *testing.T) {
	dom := chromium(t, serveDashboard(t, counter(t, 0).URL))
	m := countDiv.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no count on the page:\n%s", dom)
	}
	if n, err := strconv.Atoi(m[1]); err != nil || n < 3 {
		t.Fatalf("count on the page is %q: the page did not refresh it (the server rendered 1)", m[1])
	}
}

// TestBrowserSaysWhenTheServiceGoesAway: the service answers twice, then
// drops every connection; the open page says so, in plain words.
func TestBrowserSaysWhenTheServiceGoesAway(t *testing.T) {
	api := counter(t, 2)
	dom := chromium(t, serveDashboard(t, api.URL))
	m := errorDiv.FindStringSubmatch(dom)
	if m == nil || !strings.Contains(m[1], "cannot reach the counting service at "+api.URL) {
		t.Fatalf("the page does not say the service is unreachable:\n%s", dom)
	}
}
