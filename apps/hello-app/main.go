// Command hello-app is the seed's web application that counts its visits in
// Redis: HTTP on :8080 (PORT overrides); every GET / increments a counter in
// the Redis at DEMO_REDIS_ADDR (host:port, localhost:6379 unless set) and
// says how many visits there were. When Redis cannot be reached it answers
// 503 and says so.
//
//	$ curl -s localhost:8080
//	Hello! This page has been visited 3 times.
package main

import (
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults the seed job files rely on.
const (
	defaultPort      = "8080"
	defaultRedisAddr = "localhost:6379"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	addr := envOr("DEMO_REDIS_ADDR", defaultRedisAddr)
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 2 * time.Second, MaxRetries: 1})
	defer rdb.Close()
	h := &hello{redis: rdb, addr: addr, logger: logger}
	listen := ":" + envOr("PORT", defaultPort)
	srv := &http.Server{Addr: listen, Handler: h.routes(), ReadHeaderTimeout: 10 * time.Second}
	logger.Info("hello-app listening", "addr", listen, "redis", addr)
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
