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
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/roam-sh/roam/apps/internal/appserve"
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
	appserve.ListenAndServe(logger, "hello-app", ":"+envOr("PORT", defaultPort), h.routes(), "redis", addr)
}

var envOr = appserve.EnvOr
