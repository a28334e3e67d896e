package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
)

// visitsKey is the Redis key of the counter.
const visitsKey = "hello-app:visits"

// redisTimeout bounds one request's Redis call.
const redisTimeout = 3 * time.Second

type hello struct {
	redis  *redis.Client
	addr   string
	logger *slog.Logger
}

func (h *hello) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.visit)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux
}

func (h *hello) visit(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), redisTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	n, err := h.redis.Incr(ctx, visitsKey).Result()
	if err != nil {
		h.logger.Warn("counting a visit", "redis", h.addr, "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "cannot reach Redis at %s: %v\n", h.addr, err)
		return
	}
	fmt.Fprintf(w, "Hello! This page has been visited %d times.\n", n)
}
