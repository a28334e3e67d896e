package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// attackPage is a page that, once loaded, tries to register two jobs on
// the agent: one with a "simple" request (no CORS preflight: what any
// site can send) and one as a JSON PUT (preflighted), then reports what
// its script saw to its own server at /done.
const attackPage = `<!doctype html>
<html><body><div id="out">running</div><script>
const agent = %s;
const jobs = %s;
const seen = [];
async function attempt(name, init) {
  try {
    const r = await fetch(agent + "/v1/jobs", init);
    seen.push(name + ":" + (r.type === "opaque" ? "opaque" : r.status));
  } catch (e) {
    seen.push(name + ":blocked");
  }
}
(async () => {
  await attempt("simple", {method: "POST", mode: "no-cors", body: JSON.stringify({Job: jobs.simple})});
  await attempt("json", {method: "PUT", headers: {"Content-Type": "application/json"}, body: JSON.stringify({Job: jobs.json})});
  document.getElementById("out").textContent = seen.join(" ");
  await fetch("/done?" + encodeURIComponent(seen.join(" ")));
})();
</script></body></html>`

// pageServer serves attackPage on its own loopback port and records what
// the page reported.
type pageServer struct {
	*httptest.Server
	mu       sync.Mutex
	agentURL string
	jobs     []byte
	done     string
}

func newPageServer(t *testing.T) *pageServer {
	p := &pageServer{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if r.URL.Path == "/done" {
			p.done = r.URL.RawQuery
			return
		}
		agent, _ := json.Marshal(p.agentURL)
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, attackPage, agent, p.jobs)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *pageServer) reported() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := strings.ReplaceAll(p.done, "%20", " ")
	return strings.ReplaceAll(s, "%3A", ":")
}

// loadInChromium loads url in headless Chromium and lets its scripts run;
// it skips where Chromium is not installed (scripts/test-setup.sh
// installs Debian's).
func loadInChromium(t *testing.T, url string) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (scripts/test-setup.sh installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=4500", "--dump-dom", url)
	if out, err := cmd.Output(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
}

// TestSecurityBrowsersChromium: a real browser loads a page from another
// loopback port that fetch()es the agent. The page nobody allowed
// registers nothing, not even with a request that needs no preflight; the
// page of an origin in http_api.allowed_origins registers both jobs and
// reads the replies. Before the rules the foreign page's simple POST
// registered its job.
func TestSecurityBrowsersChromium(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Skip("chromium is not installed (scripts/test-setup.sh installs it)")
	}
	evil, friend := newPageServer(t), newPageServer(t)
	a := testAgent(t, func(c *Config) {
		c.Client.Enabled = false
		c.HTTPAPI.AllowedOrigins = []string{friend.URL}
	})
	c := apiClient(t, a)
	for _, p := range []struct {
		page   *pageServer
		prefix string
	}{{evil, "evil"}, {friend, "friend"}} {
		jobs, err := json.Marshal(map[string]any{
			"simple": parkedJob(t, c, p.prefix+"-simple"), "json": parkedJob(t, c, p.prefix+"-json"),
		})
		if err != nil {
			t.Fatal(err)
		}
		p.page.agentURL, p.page.jobs = "http://"+a.HTTPAddr(), jobs
		loadInChromium(t, p.page.URL+"/")
	}
	if got := evil.reported(); got != "simple:opaque json:blocked" {
		t.Errorf("foreign page's script saw %q, want the simple POST sent and the JSON PUT blocked", got)
	}
	for _, id := range []string{"evil-simple", "evil-json"} {
		if jobExists(t, a, id) {
			t.Errorf("the foreign page registered job %s", id)
		}
	}
	if got := friend.reported(); got != "simple:opaque json:200" {
		t.Errorf("allowed page's script saw %q, want its JSON PUT answered 200", got)
	}
	for _, id := range []string{"friend-simple", "friend-json"} {
		if !jobExists(t, a, id) {
			t.Errorf("the allowed page did not register job %s", id)
		}
	}
}
