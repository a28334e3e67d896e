// Command counter-dashboard is the web frontend of the seed's countdash
// example: HTTP on :9002 (PORT overrides), a page that shows, live, the count
// it reads from the counting service at COUNTING_SERVICE_URL
// (http://localhost:9001 unless set), and says plainly when it cannot reach
// it.
//
//	GET /           the page; it asks /api/count every second
//	GET /api/count  {"count":7,"service":"http://..."} or
//	                {"error":"cannot reach the counting service at ...","service":"..."}
package main

import (
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/roam-sh/roam/apps/internal/appserve"
)

// defaultPort is where the seed job files expect the dashboard.
const defaultPort = "9002"

// defaultServiceURL is the counting service when COUNTING_SERVICE_URL is
// unset.
const defaultServiceURL = "http://localhost:9001"

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	d := &dashboard{
		serviceURL: envOr("COUNTING_SERVICE_URL", defaultServiceURL),
		client:     &http.Client{Timeout: 2 * time.Second},
	}
	appserve.ListenAndServe(logger, "counter-dashboard", ":"+envOr("PORT", defaultPort), d.routes(), "counting_service", d.serviceURL)
}

var envOr = appserve.EnvOr
