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
	addr := ":" + envOr("PORT", defaultPort)
	srv := &http.Server{Addr: addr, Handler: d.routes(), ReadHeaderTimeout: 10 * time.Second}
	logger.Info("counter-dashboard listening", "addr", addr, "counting_service", d.serviceURL)
	if err := srv.ListenAndServe(); err != nil {
		logger.Error("serve", "error", err)
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
