package server

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// hclogAdapter lets hashicorp/raft, which logs through go-hclog, write to the
// server's *slog.Logger. Raft's trace level maps to slog debug - 4.
type hclogAdapter struct {
	logger *slog.Logger
	name   string
	args   []any
}

func newHCLogAdapter(logger *slog.Logger, name string) hclog.Logger {
	return &hclogAdapter{logger: logger.With("component", name), name: name}
}

func slogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

func (l *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	l.logger.Log(context.Background(), slogLevel(level), msg, formatArgs(args)...)
}

// formatArgs renders hclog.Fmt values (a format and its operands), which
// raft uses for server lists, as the text they stand for.
func formatArgs(args []any) []any {
	for i, a := range args {
		if f, ok := a.(hclog.Format); ok && len(f) > 0 {
			if format, ok := f[0].(string); ok {
				args[i] = fmt.Sprintf(format, f[1:]...)
			}
		}
	}
	return args
}

func (l *hclogAdapter) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }
func (l *hclogAdapter) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l *hclogAdapter) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l *hclogAdapter) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l *hclogAdapter) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

func (l *hclogAdapter) enabled(level hclog.Level) bool {
	return l.logger.Enabled(context.Background(), slogLevel(level))
}

func (l *hclogAdapter) IsTrace() bool { return l.enabled(hclog.Trace) }
func (l *hclogAdapter) IsDebug() bool { return l.enabled(hclog.Debug) }
func (l *hclogAdapter) IsInfo() bool  { return l.enabled(hclog.Info) }
func (l *hclogAdapter) IsWarn() bool  { return l.enabled(hclog.Warn) }
func (l *hclogAdapter) IsError() bool { return l.enabled(hclog.Error) }

func (l *hclogAdapter) ImpliedArgs() []any { return l.args }

func (l *hclogAdapter) With(args ...any) hclog.Logger {
	return &hclogAdapter{logger: l.logger.With(args...), name: l.name, args: append(append([]any(nil), l.args...), args...)}
}

func (l *hclogAdapter) Name() string { return l.name }

func (l *hclogAdapter) Named(name string) hclog.Logger {
	return l.ResetNamed(l.name + "." + name)
}

func (l *hclogAdapter) ResetNamed(name string) hclog.Logger {
	return &hclogAdapter{logger: l.logger.With("subcomponent", name), name: name, args: l.args}
}

// SetLevel is a no-op: the slog handler owns the level.
func (l *hclogAdapter) SetLevel(hclog.Level) {}

func (l *hclogAdapter) GetLevel() hclog.Level {
	for _, lv := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn} {
		if l.enabled(lv) {
			return lv
		}
	}
	return hclog.Error
}

func (l *hclogAdapter) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(l.logger.Handler(), slog.LevelInfo)
}

func (l *hclogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		l.logger.Info(strings.TrimRight(string(p), "\n"))
		return len(p), nil
	})
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
