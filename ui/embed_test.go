package ui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roam-sh/roam/ui"
)

// TestHandler: the app's files are served with a strict CSP, deep links get
// the page (the browser's router shows them), a missing asset is a 404.
func TestHandler(t *testing.T) {
	h := ui.Handler()
	cases := []struct {
		path     string
		code     int
		wantType string
		wantBody string
	}{
		{"/ui/", 200, "text/html", `<script type="module" src="/ui/app.js">`},
		{"/ui/jobs/web", 200, "text/html", `<script type="module" src="/ui/app.js">`},
		{"/ui/allocations/x/fs/web/local", 200, "text/html", "<main"},
		{"/ui/index.html", 200, "text/html", "<main"},
		{"/ui/app.js", 200, "javascript", "navigate"},
		{"/ui/style.css", 200, "text/css", "prefers-color-scheme"},
		{"/ui/pages/jobs.js", 200, "javascript", "export async function render"},
		{"/ui/pages/nope.js", 404, "", ""},
		{"/ui/nope.js", 404, "", ""},
		{"/ui/allocations/x/fs/web/local/dot.png", 200, "text/html", "<main"},
		{"/ui/../embed.go", 404, "", ""}, // never the Go source
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
		res := rec.Result()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != c.code {
			t.Errorf("%s: status %d, want %d", c.path, res.StatusCode, c.code)
			continue
		}
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q, want scripts from the agent only and no framing", c.path, csp)
		}
		if c.code != 200 {
			continue
		}
		if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, c.wantType) {
			t.Errorf("%s: Content-Type %q, want %s", c.path, ct, c.wantType)
		}
		if !strings.Contains(string(body), c.wantBody) {
			t.Errorf("%s: body lacks %q", c.path, c.wantBody)
		}
	}
}

// TestNoInlineScript: the CSP forbids inline scripts and handlers, so none
// may be in the page (they would silently not run).
func TestNoInlineScript(t *testing.T) {
	rec := httptest.NewRecorder()
	ui.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/", nil))
	body := rec.Body.String()
	for _, bad := range []string{"<script>", " onclick=", " onload=", "javascript:", "<style>"} {
		if strings.Contains(body, bad) {
			t.Errorf("index.html contains %q, which the Content-Security-Policy blocks", bad)
		}
	}
}
