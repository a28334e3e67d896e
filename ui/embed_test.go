package ui_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
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
		{"/ui/", 200, "text/html", `<script type="module" src="/ui/v-`},
		{"/ui/jobs/web", 200, "text/html", `<script type="module" src="/ui/v-`},
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

// TestModulesPreloaded: index.html preloads every module, so a page costs
// one round of requests rather than one per import level; a module missing
// from the list would load late, not fail, so this test keeps the list whole.
func TestModulesPreloaded(t *testing.T) {
	rec := httptest.NewRecorder()
	ui.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/", nil))
	index := rec.Body.String()
	err := fs.WalkDir(ui.Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".js") && !regexp.MustCompile(`<link rel="modulepreload" href="/ui/v-[0-9a-f]+/`+regexp.QuoteMeta(p)+`">`).MatchString(index) {
			t.Errorf("index.html does not preload %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRevalidation: a file asked for again with its ETag is a 304.
func TestRevalidation(t *testing.T) {
	h := ui.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/app.js", nil))
	tag := rec.Header().Get("ETag")
	req := httptest.NewRequest(http.MethodGet, "/ui/app.js", nil)
	req.Header.Set("If-None-Match", tag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if tag == "" || rec.Code != http.StatusNotModified {
		t.Errorf("revalidating app.js with ETag %q: %d, want 304", tag, rec.Code)
	}
}

// TestVersionedFiles: the page names its files under the build's hash, and
// those answers may be cached for a year without asking again (so a second
// load makes no revalidation round trips); another build's path is a 404,
// and the plain path is still served, revalidated each time.
func TestVersionedFiles(t *testing.T) {
	h := ui.Handler()
	get := func(p string) *http.Response {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		return rec.Result()
	}
	res := get("/ui/jobs")
	body, _ := io.ReadAll(res.Body)
	m := regexp.MustCompile(`<script type="module" src="(/ui/v-[0-9a-f]+/)app\.js">`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("index.html names no versioned app.js:\n%s", body)
	}
	if !strings.Contains(string(body), `href="/ui/jobs"`) {
		t.Errorf("index.html's links were versioned too:\n%s", body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("index.html: Cache-Control %q, want no-cache (it names this build's files)", cc)
	}
	versioned := string(m[1])
	for _, c := range []struct {
		path, cache, body string
		code              int
	}{
		{versioned + "app.js", "immutable", "navigate", 200},
		{versioned + "pages/job.js", "immutable", "export async function render", 200},
		{versioned + "style.css", "immutable", "prefers-color-scheme", 200},
		{versioned + "nope.js", "", "", 404},
		{"/ui/v-0000000000000000/app.js", "", "", 404},
		{"/ui/app.js", "no-cache", "navigate", 200},
	} {
		res := get(c.path)
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != c.code {
			t.Errorf("%s: status %d, want %d", c.path, res.StatusCode, c.code)
			continue
		}
		if c.code != 200 {
			continue
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, c.cache) {
			t.Errorf("%s: Cache-Control %q, want %s", c.path, cc, c.cache)
		}
		if !strings.Contains(string(b), c.body) {
			t.Errorf("%s: body lacks %q", c.path, c.body)
		}
	}
}
