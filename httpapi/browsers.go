package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Browsers kept out. The API has no authentication, so a web page the
// operator visits must not be able to drive it: a page's script can send
// "simple" requests (POST with a text/plain body, GET, a websocket) to any
// address the browser reaches, and after DNS rebinding its own name points
// at the agent. Two rules, checked on every request before any handler:
//
//   - Host: the Host header names the agent (an IP literal, localhost, or
//     one of BrowserRules.Hosts). A rebound page reaches the agent under
//     the attacker's name, so its Host gives it away. An IP literal cannot
//     be rebound, so every one is accepted (an agent bound to 0.0.0.0 is
//     reached at any of the machine's addresses).
//   - Origin and Sec-Fetch-Site: browsers set them and scripts cannot
//     forge them; a request carrying either must come from the agent's own
//     origin (the web UI) or from an origin in BrowserRules.Origins.
//     Non-browser clients (curl, the roam and nomad CLIs, Nomad's Go API
//     client) send neither and are not affected.
//
// Content type is no guide: Nomad's clients send form or no content types,
// which is exactly what a page may send without a CORS preflight.

// BrowserRules says which browser requests the API serves beyond the
// agent's own origin.
type BrowserRules struct {
	// Hosts are the names the agent is reached by, besides IP literals and
	// localhost, which are always accepted: host names without port,
	// "*.example.com" for every name under example.com, or "*" to turn the
	// Host check off.
	Hosts []string
	// Origins are the web origins ("https://ui.example.com:8443") whose
	// pages may call the API, with CORS answers so their scripts can read
	// the replies; "*" admits every page.
	Origins []string
}

// Values of Sec-Fetch-Site a browser sends for requests of the agent's own
// pages ("same-origin") or of the user typing or bookmarking a URL
// ("none"). "same-site" is refused: another port of the same host is the
// same site.
var ownSite = map[string]bool{"same-origin": true, "none": true}

// corsMaxAge is how long (seconds) a browser may cache a preflight answer.
const corsMaxAge = "600"

// keepBrowsersOut refuses requests from web pages other than the agent's
// own and from names the agent does not have (403), and answers CORS for
// the origins the operator allowed.
func keepBrowsersOut(next http.Handler, rules BrowserRules) http.Handler {
	hosts := newHostSet(rules.Hosts)
	origins := newOriginSet(rules.Origins)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// No reply is ever to be rendered as something other than its
		// declared type (a job's strings in JSON read as HTML, say).
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if !hosts.allows(r.Host) {
			writeError(w, http.StatusForbidden, fmt.Sprintf(
				"host %q is not a name of this agent: refused, as a web page that rebound its DNS name to the agent would be; "+
					"reach the agent by IP address or localhost, or add the name to http_api.allowed_hosts", r.Host))
			return
		}
		origin := r.Header.Get("Origin")
		site := r.Header.Get("Sec-Fetch-Site")
		crossSite := site != "" && !ownSite[strings.ToLower(site)]
		foreign := origin != "" && !sameOrigin(origin, r.Host)
		if !crossSite && !foreign {
			next.ServeHTTP(w, r)
			return
		}
		if !origins.allows(origin) {
			writeError(w, http.StatusForbidden, crossSiteMessage(origin, site))
			return
		}
		if answerCORS(w, r, origin) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

func crossSiteMessage(origin, site string) string {
	from := "another site (Sec-Fetch-Site: " + site + ")"
	if origin != "" {
		from = "the web page at " + origin
	}
	return "cross-site request from " + from + " refused: web pages other than the agent's own may not call its API; " +
		"to allow an origin, add it to http_api.allowed_origins"
}

// answerCORS adds the CORS headers that let an allowed page read replies,
// and answers its preflight; it reports whether the request is done.
// No credentials are allowed: the API uses none a browser keeps.
func answerCORS(w http.ResponseWriter, r *http.Request, origin string) bool {
	if origin == "" {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", strings.Join([]string{headerIndex, headerKnownLeader, headerLastContact, headerNextToken}, ", "))
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, PUT, POST, DELETE")
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}

// sameOrigin reports whether origin is the origin the request was sent to:
// its host and port are the Host header's (the Host check has already
// tied that to the agent). The scheme is not compared: a TLS-terminating
// proxy in front makes the page https while the agent sees plain HTTP.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false // includes "null": sandboxed frames, file: and data: pages
	}
	return strings.EqualFold(withPort(u.Host, u.Scheme), withPort(host, u.Scheme))
}

// withPort adds the scheme's default port to hostport when it has none.
func withPort(hostport, scheme string) string {
	if _, _, err := net.SplitHostPort(hostport); err == nil {
		return hostport
	}
	port := "80"
	if scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(strings.Trim(hostport, "[]"), port)
}

// hostSet holds the names the Host check accepts.
type hostSet struct {
	any      bool
	names    map[string]bool
	suffixes []string // ".example.com" for "*.example.com"
}

func newHostSet(names []string) *hostSet {
	s := &hostSet{names: map[string]bool{"localhost": true}}
	for _, n := range names {
		n = normalizeHost(n)
		switch {
		case n == "*":
			s.any = true
		case strings.HasPrefix(n, "*."):
			s.suffixes = append(s.suffixes, n[1:])
		case n != "":
			s.names[n] = true
		}
	}
	return s
}

// allows reports whether a Host header names the agent. An empty Host
// (HTTP/1.0) comes from no browser.
func (s *hostSet) allows(hostport string) bool {
	if s.any || hostport == "" {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = normalizeHost(host)
	if net.ParseIP(host) != nil || s.names[host] {
		return true
	}
	for _, suf := range s.suffixes {
		if strings.HasSuffix(host, suf) {
			return true
		}
	}
	return false
}

// normalizeHost lower-cases a name, drops IPv6 brackets and the trailing
// dot of a fully qualified name ("localhost." is localhost).
func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.Trim(strings.TrimSpace(h), "[]")), ".")
}

// originSet holds the origins the operator allowed.
type originSet struct {
	any     bool
	origins map[string]bool
}

func newOriginSet(origins []string) *originSet {
	s := &originSet{origins: map[string]bool{}}
	for _, o := range origins {
		if o == "*" {
			s.any = true
			continue
		}
		if n, err := NormalizeOrigin(o); err == nil {
			s.origins[n] = true
		}
	}
	return s
}

func (s *originSet) allows(origin string) bool {
	if s.any {
		return true
	}
	n, err := NormalizeOrigin(origin)
	return err == nil && s.origins[n]
}

// NormalizeOrigin checks that o is a web origin (scheme://host[:port], no
// path) and returns it lower-cased with the scheme's default port dropped,
// the form browsers send. The agent's configuration uses it to refuse
// entries no browser could ever send.
func NormalizeOrigin(o string) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(o, "/"))
	switch {
	case err != nil:
		return "", fmt.Errorf("origin %q: %w", o, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("origin %q: want http:// or https://", o)
	case u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "", fmt.Errorf("origin %q: want scheme://host[:port] only", o)
	}
	host := strings.ToLower(u.Host)
	if p := u.Port(); (u.Scheme == "http" && p == "80") || (u.Scheme == "https" && p == "443") {
		host = strings.ToLower(u.Hostname())
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
	}
	return u.Scheme + "://" + host, nil
}
