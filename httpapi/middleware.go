package httpapi

import (
	"github.com/roam-sh/roam/structs"

	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// middleware is one step of the chain around the router.
type middleware struct {
	name string
	wrap func(http.Handler) http.Handler
}

// middlewares is the chain around the router, outermost first. Every
// request passes every step, whatever its route: the /v1 API, the client
// endpoints (file system, logs, the exec websocket) and /debug/pprof/.
func middlewares(logger *slog.Logger, maxBody int64, browsers BrowserRules) []middleware {
	return []middleware{
		// Sees the final status of every request, including the 500 written
		// for a recovered panic and the 403s of the browser rules, so it
		// must be outside both.
		{"log", func(h http.Handler) http.Handler { return logRequests(h, logger) }},
		// The last line of defence; no input may crash the agent.
		{"recover", func(h http.Handler) http.Handler { return recoverPanics(h, logger) }},
		// Refuses web pages and rebound names before anything reads the
		// body or acts (browsers.go).
		{"browsers", func(h http.Handler) http.Handler { return keepBrowsersOut(h, browsers) }},
		// Caps bodies before any handler reads them.
		{"limit body", func(h http.Handler) http.Handler { return limitBody(h, maxBody) }},
		// The X-Nomad-* headers every response carries; endpoints that
		// know better overwrite them.
		{"default meta", defaultMeta},
		// Innermost, just before routing: no handler (nor the proxy to a
		// client) ever sees an ID with a control character (idcheck.go).
		{"control characters", refuseControlChars},
	}
}

// chain wraps next in the middlewares, the first outermost.
func chain(next http.Handler, mws []middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		next = mws[i].wrap(next)
	}
	return next
}

// recorder remembers the status written, for logging and for knowing whether
// a panic left room to write a 500.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and friends through the
// recorder (streaming client endpoints need them).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func logRequests(next http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		logger.Debug("request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery,
			"status", rec.status, "duration", time.Since(start))
	})
}

func recoverPanics(next http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, ok := w.(*recorder)
		if !ok {
			rec = &recorder{ResponseWriter: w}
		}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rec.status == 0 {
				writeError(rec, http.StatusInternalServerError, "internal error")
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// ownBodyLimits are the routes whose bodies are legitimately larger than
// the general limit; each handler reads within its own bound instead.
var ownBodyLimits = map[string]int64{
	// A snapshot holds the whole state: restoring one must not fail at 16 MiB.
	http.MethodPut + " /v1/operator/snapshot": structs.MaxSnapshotSize,
}

func limitBody(next http.Handler, general int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		max := general
		if own, ok := ownBodyLimits[r.Method+" "+r.URL.Path]; ok {
			max = own
		}
		if r.ContentLength > max {
			writeError(w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, max))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

func defaultMeta(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set(headerIndex, "0")
		h.Set(headerKnownLeader, "false")
		h.Set(headerLastContact, "0")
		next.ServeHTTP(w, r)
	})
}
