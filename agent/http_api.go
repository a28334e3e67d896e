package agent

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/roam-sh/roam/httpapi"
)

// HTTPAPIConfig widens who may call the HTTP API from a web browser
// (http_api block). By default only the agent's own pages may, and only
// under its own names (httpapi/browsers.go); docs/security.md lists these
// as opt-ins that weaken the default.
type HTTPAPIConfig struct {
	// AllowedOrigins are web origins ("https://ui.example.com") whose
	// pages may call the API; "*" admits every page.
	AllowedOrigins []string
	// AllowedHosts are extra names the agent is reached by (Host header),
	// "*.example.com" for every name under one, "*" for any name.
	AllowedHosts []string
}

type fileHTTPAPI struct {
	AllowedOrigins []string `hcl:"allowed_origins,optional"`
	AllowedHosts   []string `hcl:"allowed_hosts,optional"`
}

// merge lays a file's http_api block over h: lists given replace.
func (h *HTTPAPIConfig) merge(f *fileHTTPAPI) {
	if f == nil {
		return
	}
	if f.AllowedOrigins != nil {
		h.AllowedOrigins = f.AllowedOrigins
	}
	if f.AllowedHosts != nil {
		h.AllowedHosts = f.AllowedHosts
	}
}

// validate refuses entries no browser could ever send, which would leave
// the operator believing something is allowed that is not.
func (h *HTTPAPIConfig) validate() []error {
	var errs []error
	for _, o := range h.AllowedOrigins {
		if o == "*" {
			continue
		}
		if _, err := httpapi.NormalizeOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("http_api.allowed_origins: %w", err))
		}
	}
	for _, n := range h.AllowedHosts {
		name := strings.TrimPrefix(n, "*.")
		if n == "*" {
			continue
		}
		if name == "" || strings.ContainsAny(name, "/:*@ ") {
			errs = append(errs, fmt.Errorf("http_api.allowed_hosts: %q: want a host name without scheme or port, \"*.domain\" or \"*\"", n))
		}
	}
	return errs
}

// browserRules are the names the agent answers to and the origins its
// operator allowed. IP literals and localhost are always accepted.
func (a *Agent) browserRules() httpapi.BrowserRules {
	names := []string{a.cfg.NodeName}
	if h, err := os.Hostname(); err == nil {
		names = append(names, h)
	}
	// The advertised address is how other agents forward client requests
	// here (Node.HTTPAddr), and may be a name.
	if h, _, err := net.SplitHostPort(a.httpAdvertise()); err == nil {
		names = append(names, h)
	}
	// Verifiers of workload identities fetch the JWKS under the issuer's
	// name, which points at the agents.
	if u, err := url.Parse(a.cfg.Server.OIDCIssuer); err == nil && u.Hostname() != "" {
		names = append(names, u.Hostname())
	}
	names = append(names, a.cfg.HTTPAPI.AllowedHosts...)
	return httpapi.BrowserRules{Hosts: names, Origins: a.cfg.HTTPAPI.AllowedOrigins}
}

// errUnauthenticatedEverywhere is logged when the HTTP API listens on every
// interface: it has no authentication, so whoever reaches the port can run
// jobs.
var errUnauthenticatedEverywhere = errors.New("the HTTP API has no authentication and listens on every interface: " +
	"anyone who can reach this port can run jobs on this cluster; set bind_addr (or -bind) to a private address, " +
	"or firewall the port")

// warnIfListeningEverywhere warns when bind_addr is the unspecified address
// (the default without -dev).
func (a *Agent) warnIfListeningEverywhere() {
	if ip := net.ParseIP(a.cfg.BindAddr); ip != nil && ip.IsUnspecified() {
		a.logger.Warn(errUnauthenticatedEverywhere.Error(), "bind_addr", a.cfg.BindAddr, "addr", a.HTTPAddr())
	}
}
