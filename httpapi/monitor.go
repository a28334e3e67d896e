package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/roam-sh/roam/api"
)

// LogMonitor streams the agent's log (optional power of the Agent; without
// it /v1/agent/monitor answers 501). stop must be called when done.
type LogMonitor interface {
	MonitorLogs(level slog.Level, json bool) (lines <-chan []byte, stop func(), err error)
}

// monitorHeartbeat is how often an idle monitor stream sends an empty frame,
// so that proxies keep it open and a gone client is noticed.
const monitorHeartbeat = 10 * time.Second

// agentMonitor: GET /v1/agent/monitor?log_level=&log_json=&plain=, the
// agent's log lines as they are written (`nomad monitor`): frames of
// {"Data": <bytes>} as Nomad sends them, or the bare lines with plain=true.
func (h *handlers) agentMonitor(w http.ResponseWriter, r *http.Request) {
	mon, ok := h.agent.(LogMonitor)
	if !ok {
		writeError(w, http.StatusNotImplemented, "log monitor not available on this agent")
		return
	}
	q := r.URL.Query()
	level, err := parseMonitorLevel(q.Get("log_level"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	asJSON, err := boolParam(q, "log_json")
	if err == nil {
		var plain bool
		if plain, err = boolParam(q, "plain"); err == nil {
			h.streamLogs(w, r, mon, level, asJSON, plain)
			return
		}
	}
	writeError(w, statusCode(err), errorMessage(err))
}

func (h *handlers) streamLogs(w http.ResponseWriter, r *http.Request, mon LogMonitor, level slog.Level, asJSON, plain bool) {
	lines, stop, err := mon.MonitorLogs(level, asJSON)
	if err != nil {
		writeError(w, http.StatusTooManyRequests, err.Error())
		return
	}
	defer stop()
	// Through the middleware's recorder (Unwrap), to the connection.
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/json")
	if plain {
		w.Header().Set("Content-Type", "text/plain")
	}
	w.WriteHeader(http.StatusOK)
	// Send the headers now: Nomad's client waits for them before it reads
	// frames, and the first line may be a while coming.
	if rc.Flush() != nil {
		return
	}
	enc := json.NewEncoder(w)
	tick := time.NewTicker(monitorHeartbeat)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case line := <-lines:
			if plain {
				_, err = w.Write(line)
			} else {
				err = enc.Encode(&api.StreamFrame{Data: line})
			}
		case <-tick.C:
			if !plain {
				err = enc.Encode(&api.StreamFrame{})
			}
		}
		if err != nil || rc.Flush() != nil {
			return
		}
	}
}

// parseMonitorLevel reads Nomad's log levels (trace is debug here); the
// default is info.
func parseMonitorLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "", "info":
		return slog.LevelInfo, nil
	case "trace", "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, errors.New("unknown log level " + s + " (trace, debug, info, warn, error)")
}
