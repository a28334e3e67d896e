// Package appserve is what the seed applications share: their settings
// from the environment and serving HTTP until the process is stopped.
package appserve

import (
	"log/slog"
	"net/http"
	"os"
	"time"
)

// EnvOr is the environment variable key, or def when it is unset or empty.
func EnvOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// ListenAndServe serves h on addr and exits the process with status 1 when
// serving fails (a taken port): an application that cannot serve is dead.
func ListenAndServe(logger *slog.Logger, name, addr string, h http.Handler, attrs ...any) {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	logger.Info(name+" listening", append([]any{"addr", addr}, attrs...)...)
	if err := srv.ListenAndServe(); err != nil {
		logger.Error("serve", "error", err)
		os.Exit(1)
	}
}
