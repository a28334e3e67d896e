package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roam-sh/roam/structs"
)

// TestSecurityBrowsersRules: the browser rules on their own, as a table
// of what a browser or another client sends. Every 403 row was a 200
// before the rules (the chain had no such step).
func TestSecurityBrowsersRules(t *testing.T) {
	rules := BrowserRules{Hosts: []string{"node-1", "*.roam.internal"}, Origins: []string{"https://ui.example.com"}}
	cases := []struct {
		name   string
		method string
		host   string
		header map[string]string
		want   int
	}{
		{"curl: no browser headers", "POST", "127.0.0.1:4646", nil, 200},
		{"HTTP/1.0 without Host", "GET", "", nil, 200},
		{"IPv6 loopback", "GET", "[::1]:4646", nil, 200},
		{"any IP literal (bound to 0.0.0.0)", "GET", "10.1.2.3:4646", nil, 200},
		{"localhost", "GET", "localhost:4646", nil, 200},
		{"localhost, fully qualified, upper case", "GET", "LOCALHOST.:4646", nil, 200},
		{"the node's name", "GET", "node-1:4646", nil, 200},
		{"a configured domain", "GET", "a.roam.internal:4646", nil, 200},
		{"rebound name", "GET", "evil.example:4646", nil, 403},
		{"rebound name, same origin as far as the browser knows", "POST", "evil.example:4646",
			map[string]string{"Origin": "http://evil.example:4646", "Sec-Fetch-Site": "same-origin"}, 403},
		{"suffix is not a name under the domain", "GET", "evilroam.internal:4646", nil, 403},
		{"the agent's own page", "POST", "127.0.0.1:4646",
			map[string]string{"Origin": "http://127.0.0.1:4646", "Sec-Fetch-Site": "same-origin"}, 200},
		{"own page behind a TLS proxy passing Host on", "POST", "node-1",
			map[string]string{"Origin": "https://node-1:443"}, 200},
		{"own page behind a TLS proxy keeping the port", "POST", "node-1:443",
			map[string]string{"Origin": "https://node-1"}, 200},
		{"typed URL or bookmark", "GET", "localhost:4646", map[string]string{"Sec-Fetch-Site": "none"}, 200},
		{"fetch from another site", "POST", "127.0.0.1:4646",
			map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 403},
		{"only Origin", "POST", "127.0.0.1:4646", map[string]string{"Origin": "https://evil.example"}, 403},
		{"only Sec-Fetch-Site (img, link, GET form)", "GET", "127.0.0.1:4646",
			map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"another port of the same host is the same site", "POST", "127.0.0.1:4646",
			map[string]string{"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-site"}, 403},
		{"opaque origin (sandboxed frame, file: page)", "POST", "127.0.0.1:4646", map[string]string{"Origin": "null"}, 403},
		{"websocket from another site", "GET", "127.0.0.1:4646",
			map[string]string{"Origin": "http://evil.example", "Upgrade": "websocket", "Connection": "Upgrade"}, 403},
		{"allowed origin", "POST", "127.0.0.1:4646",
			map[string]string{"Origin": "https://ui.example.com", "Sec-Fetch-Site": "cross-site"}, 200},
		{"allowed origin, written with its default port", "POST", "127.0.0.1:4646",
			map[string]string{"Origin": "https://UI.example.com:443"}, 200},
		{"allowed origin's scheme matters", "POST", "127.0.0.1:4646", map[string]string{"Origin": "http://ui.example.com"}, 403},
		{"preflight of an allowed origin", "OPTIONS", "127.0.0.1:4646",
			map[string]string{"Origin": "https://ui.example.com", "Access-Control-Request-Method": "PUT"}, 204},
		{"preflight of another origin", "OPTIONS", "127.0.0.1:4646",
			map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"}, 403},
	}
	h := keepBrowsersOut(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), rules)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, "/v1/jobs", nil)
			req.Host = c.host
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Fatalf("%d %q, want %d", rec.Code, rec.Body.String(), c.want)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("reply without X-Content-Type-Options: nosniff")
			}
			if c.want == 403 && !strings.Contains(rec.Body.String(), "http_api.allowed_") {
				t.Errorf("refusal does not say how to allow it: %q", rec.Body.String())
			}
		})
	}
}

// TestSecurityBrowsersCORSForAllowedOrigins: an allowed origin's page can
// read replies (and the index headers); no other page gets CORS headers.
func TestSecurityBrowsersCORSForAllowedOrigins(t *testing.T) {
	h := keepBrowsersOut(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
		BrowserRules{Origins: []string{"https://ui.example.com"}})
	pre := httptest.NewRequest("OPTIONS", "/v1/jobs", nil)
	pre.Host = "127.0.0.1:4646"
	pre.Header.Set("Origin", "https://ui.example.com")
	pre.Header.Set("Access-Control-Request-Method", "PUT")
	pre.Header.Set("Access-Control-Request-Headers", "content-type")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, pre)
	got := rec.Header()
	if got.Get("Access-Control-Allow-Origin") != "https://ui.example.com" || !strings.Contains(got.Get("Access-Control-Allow-Methods"), "PUT") ||
		got.Get("Access-Control-Allow-Headers") != "content-type" || got.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("preflight answer: %v", got)
	}
	own := httptest.NewRequest("GET", "/v1/jobs", nil)
	own.Host = "127.0.0.1:4646"
	own.Header.Set("Origin", "http://127.0.0.1:4646")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, own)
	if v := rec.Header().Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("same-origin request got Access-Control-Allow-Origin %q", v)
	}
}

// TestSecurityBrowsersForwardDropsBrowserHeaders: the agent that judged a
// request of its own UI forwards it to the allocation's node without the
// browser headers, which the node (reached under another host) would
// refuse. Before, Origin went along and the node's exec upgrader compared
// it with X-Forwarded-Host, a header any client can set.
func TestSecurityBrowsersForwardDropsBrowserHeaders(t *testing.T) {
	got := make(chan http.Header, 1)
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() }))
	defer node.Close()
	h := &handlers{proxy: newProxyTransport(nil)}
	req := httptest.NewRequest("GET", "/v1/client/fs/ls/x", nil)
	req.Header.Set("Origin", "http://127.0.0.1:4646")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	h.forward(httptest.NewRecorder(), req, &structs.Node{ID: "n", HTTPAddr: strings.TrimPrefix(node.URL, "http://")})
	hdr := <-got
	for _, k := range []string{"Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode"} {
		if v := hdr.Get(k); v != "" {
			t.Errorf("forwarded request carries %s: %q", k, v)
		}
	}
}

func TestNormalizeOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://UI.example.com/": "https://ui.example.com",
		"http://a:80":             "http://a",
		"https://a:8443":          "https://a:8443",
		"http://[::1]:80":         "http://[::1]",
	} {
		if got, err := NormalizeOrigin(in); err != nil || got != want {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ui.example.com", "ftp://a", "https://a/path", "https://", "null", "https://u@a"} {
		if _, err := NormalizeOrigin(bad); err == nil {
			t.Errorf("NormalizeOrigin(%q) accepted", bad)
		}
	}
}
