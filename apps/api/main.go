// Command api is the "api" service of seed 001's api-upstreams.nomad:
// HTTP on :9090 (PORT overrides); each request is passed on to the payments
// service through the job's connect upstream, at PAYMENTS_URL, else
// http://${NOMAD_UPSTREAM_ADDR_payments}, else http://127.0.0.1:9091 (the
// upstream's local_bind_port), and answered with what payments said.
//
//	GET /  {"payments":"<payments' answer>","upstream":"http://127.0.0.1:9091"}
//	       or 502 {"error":"cannot reach payments at ...","upstream":"..."}
//
// The job file runs it as local/api: an operator puts it there with an
// artifact block (examples/seeds/README.md).
package main

import (
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/roam-sh/roam/apps/internal/appserve"
)

// defaultPort is the service's port in api-upstreams.nomad.
const defaultPort = "9090"

// defaultUpstream is the upstream's local_bind_port in api-upstreams.nomad.
const defaultUpstream = "127.0.0.1:9091"

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	a := &api{upstream: upstreamURL(os.Getenv), client: &http.Client{Timeout: 2 * time.Second}}
	appserve.ListenAndServe(logger, "api", ":"+appserve.EnvOr("PORT", defaultPort), a.routes(), "payments", a.upstream)
}

// upstreamURL is where payments is reached, from the environment.
func upstreamURL(getenv func(string) string) string {
	if u := getenv("PAYMENTS_URL"); u != "" {
		return u
	}
	if addr := getenv("NOMAD_UPSTREAM_ADDR_payments"); addr != "" {
		return "http://" + addr
	}
	return "http://" + defaultUpstream
}
