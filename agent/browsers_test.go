package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// The browser rules (httpapi/browsers.go) on a whole agent: the names it
// computes for itself, every route behind the chain, the configuration
// keys, the start-up warning, and a real browser.

// parkedJob is a job no node can run (its constraint names no node), so
// registering it costs a blocked evaluation and nothing else.
func parkedJob(t *testing.T, c *api.Client, id string) *api.Job {
	t.Helper()
	job, err := c.Jobs().Parse(&api.JobsParseRequest{Canonicalize: true, JobHCL: fmt.Sprintf(`
job %q {
  datacenters = ["dc1"]
  constraint {
    attribute = "${node.unique.name}"
    value     = "no-such-node"
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
    }
  }
}`, id)})
	if err != nil {
		t.Fatal(err)
	}
	return job
}

// rawCall sends a request as a browser or curl would: host overrides the
// Host header when set, header adds the browser's headers.
func rawCall(t *testing.T, a *Agent, method, path, host string, header map[string]string, body []byte) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+a.HTTPAddr()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header
}

func jobBody(t *testing.T, job *api.Job) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Job": job})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jobExists(t *testing.T, a *Agent, id string) bool {
	t.Helper()
	j, err := a.server.State().JobByID(nil, structs.DefaultNamespace, id)
	if err != nil {
		t.Fatal(err)
	}
	return j != nil
}

// TestSecurityBrowsersCrossSiteJobRegister: a web page's fetch() POST of
// a job, with a body type that needs no CORS preflight, is refused and
// registers nothing; curl, roam's and Nomad's Go clients and the agent's
// own pages still register jobs. Before the rules every row registered
// its job.
func TestSecurityBrowsersCrossSiteJobRegister(t *testing.T) {
	a := testAgent(t, func(c *Config) { c.Client.Enabled = false })
	c := apiClient(t, a)
	own := "http://" + a.HTTPAddr()
	for i, hdr := range []map[string]string{
		{"Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},
		{"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"}, // a page on another loopback port
		{"Origin": "null", "Sec-Fetch-Site": "cross-site"},              // a file: page or sandboxed frame
	} {
		id := fmt.Sprintf("cross-%d", i)
		hdr["Content-Type"] = "text/plain;charset=UTF-8"
		code, msg, _ := rawCall(t, a, "POST", "/v1/jobs", "", hdr, jobBody(t, parkedJob(t, c, id)))
		if code != http.StatusForbidden || !strings.Contains(msg, "cross-site request") {
			t.Errorf("%v: %d %q, want 403 saying cross-site", hdr, code, msg)
		}
		if jobExists(t, a, id) {
			t.Errorf("%v: job %s was registered", hdr, id)
		}
	}
	// curl: no browser headers, a form content type.
	code, msg, _ := rawCall(t, a, "POST", "/v1/jobs", "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		jobBody(t, parkedJob(t, c, "curl")))
	if code != http.StatusOK || !jobExists(t, a, "curl") {
		t.Errorf("curl-like POST: %d %q", code, msg)
	}
	// The agent's own page (the web UI).
	code, msg, _ = rawCall(t, a, "POST", "/v1/jobs", "", map[string]string{"Origin": own, "Sec-Fetch-Site": "same-origin"},
		jobBody(t, parkedJob(t, c, "own-page")))
	if code != http.StatusOK || !jobExists(t, a, "own-page") {
		t.Errorf("same-origin POST: %d %q", code, msg)
	}
	if _, _, err := c.Jobs().Register(parkedJob(t, c, "roam-client"), nil, nil); err != nil || !jobExists(t, a, "roam-client") {
		t.Errorf("roam's Go client: %v", err)
	}
	cfg := nomadapi.DefaultConfig()
	cfg.Address = own
	nc, err := nomadapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	nj := nomadapi.NewBatchJob("nomad-client", "nomad-client", "global", 50)
	nj.Datacenters = []string{"dc1"}
	nj.Constrain(nomadapi.NewConstraint("${node.unique.name}", "=", "no-such-node"))
	nj.AddTaskGroup(nomadapi.NewTaskGroup("g", 1).AddTask(nomadapi.NewTask("t", "raw_exec").SetConfig("command", "/bin/true")))
	if _, _, err := nc.Jobs().Register(nj, nil); err != nil || !jobExists(t, a, "nomad-client") {
		t.Errorf("Nomad's Go client: %v", err)
	}
}

// TestSecurityBrowsersHostRebinding: a page whose DNS name was rebound to
// the agent's address reaches it with its own name as Host: refused, while
// the agent's addresses and names work. Before the rules evil.example got
// 200 and a job.
func TestSecurityBrowsersHostRebinding(t *testing.T) {
	a := testAgent(t, func(c *Config) { c.Client.Enabled = false })
	_, port, _ := strings.Cut(a.HTTPAddr(), ":")
	code, msg, _ := rawCall(t, a, "POST", "/v1/jobs", "evil.example:"+port,
		map[string]string{"Origin": "http://evil.example:" + port, "Sec-Fetch-Site": "same-origin"},
		jobBody(t, parkedJob(t, apiClient(t, a), "rebound")))
	if code != http.StatusForbidden || !strings.Contains(msg, `host "evil.example:`+port+`" is not a name of this agent`) {
		t.Errorf("rebound POST: %d %q, want 403 naming the host", code, msg)
	}
	if jobExists(t, a, "rebound") {
		t.Error("the rebound page registered its job")
	}
	for _, h := range []string{"evil.example", "evil.example:" + port, "127.0.0.1.evil.example:" + port, "localhost.evil.example:" + port} {
		if code, _, _ := rawCall(t, a, "GET", "/v1/jobs", h, nil, nil); code != http.StatusForbidden {
			t.Errorf("GET with Host %s: %d, want 403", h, code)
		}
	}
	for _, h := range []string{"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port, "LocalHost:" + port, a.cfg.NodeName + ":" + port} {
		if code, msg, _ := rawCall(t, a, "GET", "/v1/jobs", h, nil, nil); code != http.StatusOK {
			t.Errorf("GET with Host %s: %d %q, want 200", h, code, msg)
		}
	}
}

// TestSecurityBrowsersClientEndpoints: the client endpoints (file system,
// logs, gc) and the exec websocket are behind the same rules. Before,
// every request below but the foreign-Origin websocket was served (the
// exec upgrader compared Origin with Host, which a rebound page controls).
func TestSecurityBrowsersClientEndpoints(t *testing.T) {
	a := testAgent(t, nil)
	al := runJob(t, apiClient(t, a), loggingJob("browse", a.cfg.NodeName))
	_, port, _ := strings.Cut(a.HTTPAddr(), ":")
	cross := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
	for _, p := range []string{
		"/v1/client/fs/ls/" + al.ID + "?path=/",
		"/v1/client/fs/cat/" + al.ID + "?path=web/local/file.txt",
		"/v1/client/fs/logs/" + al.ID + "?task=web&type=stdout",
		"/v1/client/allocation/" + al.ID + "/stats",
		"/v1/client/gc",
	} {
		if code, msg, _ := rawCall(t, a, "GET", p, "", cross, nil); code != http.StatusForbidden {
			t.Errorf("cross-site GET %s: %d %.80q, want 403", p, code, msg)
		}
		if code, _, _ := rawCall(t, a, "GET", p, "evil.example:"+port, nil, nil); code != http.StatusForbidden {
			t.Errorf("rebound GET %s: %d, want 403", p, code)
		}
	}
	if code, msg, _ := rawCall(t, a, "GET", "/v1/client/fs/cat/"+al.ID+"?path=web/local/file.txt", "", nil, nil); code != 200 || msg != "data" {
		t.Errorf("curl-like cat: %d %q", code, msg)
	}
	execURL := "ws://" + a.HTTPAddr() + "/v1/client/allocation/" + al.ID + "/exec?task=web&command=" + url.QueryEscape(`["true"]`)
	for name, hdr := range map[string]http.Header{
		"foreign origin": {"Origin": {"https://evil.example"}},
		"rebound name":   {"Origin": {"http://evil.example:" + port}, "Host": {"evil.example:" + port}},
		"another port":   {"Origin": {"http://127.0.0.1:1"}},
	} {
		conn, resp, err := websocket.DefaultDialer.Dial(execURL, hdr)
		if err == nil {
			conn.Close()
			t.Errorf("exec websocket, %s: upgraded", name)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("exec websocket, %s: %v, want 403", name, err)
		}
	}
	// The CLI's websocket (no Origin) and the agent's own page still work.
	for name, hdr := range map[string]http.Header{"no origin": nil, "own page": {"Origin": {"http://" + a.HTTPAddr()}}} {
		conn, _, err := websocket.DefaultDialer.Dial(execURL, hdr)
		if err != nil {
			t.Errorf("exec websocket, %s: %v", name, err)
			continue
		}
		conn.Close()
	}
}

// TestSecurityBrowsersConfiguredAllowances: http_api.allowed_origins lets
// a named page call the API (with CORS answers it can read) and
// allowed_hosts adds names; everything else stays refused.
func TestSecurityBrowsersConfiguredAllowances(t *testing.T) {
	a := testAgent(t, func(c *Config) {
		c.Client.Enabled = false
		c.HTTPAPI = HTTPAPIConfig{AllowedOrigins: []string{"https://ui.example.com"}, AllowedHosts: []string{"roam.example.com", "*.nodes.example"}}
		c.Server.OIDCIssuer = "https://issuer.example.com"
	})
	c := apiClient(t, a)
	ui := map[string]string{"Origin": "https://ui.example.com", "Sec-Fetch-Site": "cross-site"}
	code, _, hdr := rawCall(t, a, "OPTIONS", "/v1/jobs", "", map[string]string{
		"Origin": "https://ui.example.com", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type",
	}, nil)
	if code != http.StatusNoContent || hdr.Get("Access-Control-Allow-Origin") != "https://ui.example.com" {
		t.Errorf("preflight of the allowed origin: %d %v", code, hdr)
	}
	code, msg, hdr := rawCall(t, a, "PUT", "/v1/jobs", "", ui, jobBody(t, parkedJob(t, c, "from-ui")))
	if code != http.StatusOK || !jobExists(t, a, "from-ui") || hdr.Get("Access-Control-Allow-Origin") != "https://ui.example.com" {
		t.Errorf("PUT from the allowed origin: %d %q %v", code, msg, hdr)
	}
	// The OIDC issuer's name is one of the agent's: JWT verifiers fetch
	// the keys under it.
	for _, h := range []string{"roam.example.com", "roam.example.com:4646", "n1.nodes.example", "issuer.example.com"} {
		if code, msg, _ := rawCall(t, a, "GET", "/v1/jobs", h, nil, nil); code != http.StatusOK {
			t.Errorf("allowed host %s: %d %q", h, code, msg)
		}
	}
	if code, _, _ := rawCall(t, a, "GET", "/v1/jobs", "evil.example", nil, nil); code != http.StatusForbidden {
		t.Errorf("other host: %d, want 403", code)
	}
	code, _, _ = rawCall(t, a, "POST", "/v1/jobs", "", map[string]string{"Origin": "https://evil.example"}, jobBody(t, parkedJob(t, c, "evil")))
	if code != http.StatusForbidden || jobExists(t, a, "evil") {
		t.Errorf("other origin: %d", code)
	}
}

// TestSecurityBrowsersConfigKeys: the http_api block, its flags and
// environment variables, and entries no browser could send refused.
func TestSecurityBrowsersConfigKeys(t *testing.T) {
	p := writeFile(t, t.TempDir(), "c.hcl", `
http_api {
  allowed_origins = ["https://ui.example.com"]
  allowed_hosts   = ["roam.example.com"]
}
`)
	t.Setenv("ROAM_HTTP_ALLOWED_HOSTS", "a.example,b.example")
	var f agentFlags
	cmd := newCommand(&f)
	if err := cmd.Flags().Parse([]string{"--config", p, "--http-allowed-origins", "http://localhost:3000"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := resolveConfig(cmd.Flags(), &f)
	if err != nil {
		t.Fatal(err)
	}
	// The flag beats the file; the environment beats the file.
	if got := cfg.HTTPAPI; strings.Join(got.AllowedOrigins, ",") != "http://localhost:3000" || strings.Join(got.AllowedHosts, ",") != "a.example,b.example" {
		t.Fatalf("http_api from flags and env: %+v", got)
	}
	cfg = DevConfig()
	if err := loadConfigPaths(cfg, []string{p}); err != nil {
		t.Fatal(err)
	}
	if got := cfg.HTTPAPI; len(got.AllowedOrigins) != 1 || got.AllowedOrigins[0] != "https://ui.example.com" || got.AllowedHosts[0] != "roam.example.com" {
		t.Fatalf("http_api from file: %+v", got)
	}
	bad := DevConfig()
	bad.HTTPAPI = HTTPAPIConfig{AllowedOrigins: []string{"ui.example.com", "https://ui.example.com/app"}, AllowedHosts: []string{"http://x", "x:4646"}}
	err = bad.Validate()
	for _, want := range []string{`"ui.example.com"`, `"https://ui.example.com/app"`, `"http://x"`, `"x:4646"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate does not refuse %s: %v", want, err)
		}
	}
}

// TestSecurityBrowsersBindAllWarning: an agent whose unauthenticated API
// listens on every interface (the default without -dev) says so at start;
// one bound to loopback does not. Before, neither warned.
func TestSecurityBrowsersBindAllWarning(t *testing.T) {
	for bind, warn := range map[string]bool{"0.0.0.0": true, "127.0.0.1": false} {
		var logs testutil.SyncBuffer
		cfg := DefaultConfig()
		cfg.DataDir = t.TempDir()
		cfg.BindAddr = bind
		cfg.Ports = Ports{}
		cfg.Server.Enabled = true
		cfg.Server.NumSchedulers = 1
		a, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		_ = a.Shutdown()
		got := strings.Contains(logs.String(), "listens on every interface")
		if got != warn {
			t.Errorf("bind_addr %s: warned %v, want %v; logs:\n%s", bind, got, warn, logs.String())
		}
	}
}
