// Package stdlog sends what libraries print through Go's global standard
// logger to a *slog.Logger. consul-template (embedded by package template)
// logs every step of every template with log.Printf and a level prefix
// ("[DEBUG] (runner) checking template …"); unfiltered, that floods the
// agent's output. The standard logger is process-wide, so only the
// binary's entry point installs this, once.
package stdlog

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"strings"
)

// Redirect makes the standard logger write to logger: a line's "[LEVEL]"
// prefix (ERR, WARN, INFO, DEBUG, TRACE) becomes its slog level, so the
// logger's own level filters it.
func Redirect(logger *slog.Logger) {
	log.SetFlags(0)
	log.SetOutput(writer{logger: logger.With("component", "library")})
}

type writer struct{ logger *slog.Logger }

// levels maps the prefixes libraries use to slog levels; TRACE sits below
// DEBUG.
var levels = []struct {
	prefix string
	level  slog.Level
}{
	{"[ERR]", slog.LevelError}, {"[ERROR]", slog.LevelError},
	{"[WARN]", slog.LevelWarn}, {"[INFO]", slog.LevelInfo},
	{"[DEBUG]", slog.LevelDebug}, {"[TRACE]", slog.LevelDebug - 4},
}

func (w writer) Write(p []byte) (int, error) {
	msg := string(bytes.TrimSpace(p))
	level := slog.LevelInfo
	for _, l := range levels {
		if rest, ok := strings.CutPrefix(msg, l.prefix); ok {
			level, msg = l.level, strings.TrimSpace(rest)
			break
		}
	}
	if w.logger.Enabled(context.Background(), level) {
		w.logger.Log(context.Background(), level, msg)
	}
	return len(p), nil
}
