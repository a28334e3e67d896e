package agent

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
)

// The agent's log, streamed to `nomad monitor` (/v1/agent/monitor). New
// puts a tee in front of the logger it is given: every record goes to the
// agent's own handler as before and, while someone watches, to a hub that
// formats it once per format and hands each watcher the lines at or above
// its level. A watcher that reads too slowly misses lines rather than
// slowing the agent down, and watchers are bounded in number.

// Bounds of the log monitor.
const (
	maxLogWatchers   = 16
	logWatcherBuffer = 512
)

// errTooManyWatchers is returned when maxLogWatchers already watch.
var errTooManyWatchers = errors.New("too many log monitors on this agent")

// logHub fans records out to watchers.
type logHub struct {
	mu       sync.Mutex
	watchers map[*logWatcher]struct{}
	// n counts watchers, so that logging without one takes no lock.
	n atomic.Int32
	// cur is the level of the record being written (held under mu), so
	// that the writers below hand it only to watchers that want it.
	cur slog.Level
}

type logWatcher struct {
	level slog.Level
	json  bool
	ch    chan []byte
}

func newLogHub() *logHub { return &logHub{watchers: map[*logWatcher]struct{}{}} }

// watch adds a watcher; stop removes it and closes its channel.
func (h *logHub) watch(level slog.Level, json bool) (<-chan []byte, func(), error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.watchers) >= maxLogWatchers {
		return nil, nil, errTooManyWatchers
	}
	w := &logWatcher{level: level, json: json, ch: make(chan []byte, logWatcherBuffer)}
	h.watchers[w] = struct{}{}
	h.n.Add(1)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.watchers, w)
			h.n.Add(-1)
			h.mu.Unlock()
		})
	}
	return w.ch, stop, nil
}

// wants reports whether a watcher of the format takes a record at level;
// called with mu held.
func (h *logHub) wants(level slog.Level, json bool) bool {
	for w := range h.watchers {
		if w.json == json && level >= w.level {
			return true
		}
	}
	return false
}

// hubWriter receives one formatted record (slog handlers write each record
// in one call) and copies it to the watchers of its format.
type hubWriter struct {
	hub  *logHub
	json bool
}

func (w hubWriter) Write(p []byte) (int, error) {
	for lw := range w.hub.watchers {
		if lw.json != w.json || w.hub.cur < lw.level {
			continue
		}
		select {
		case lw.ch <- append([]byte(nil), p...):
		default: // a slow reader misses lines
		}
	}
	return len(p), nil
}

// hubHandler formats records for the hub, as text and as JSON.
type hubHandler struct {
	hub        *logHub
	text, json slog.Handler
}

func newHubHandler(hub *logHub) *hubHandler {
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	return &hubHandler{
		hub:  hub,
		text: slog.NewTextHandler(hubWriter{hub: hub}, opts),
		json: slog.NewJSONHandler(hubWriter{hub: hub, json: true}, opts),
	}
}

func (h *hubHandler) Enabled(_ context.Context, level slog.Level) bool {
	if h.hub.n.Load() == 0 {
		return false
	}
	h.hub.mu.Lock()
	defer h.hub.mu.Unlock()
	return h.hub.wants(level, false) || h.hub.wants(level, true)
}

func (h *hubHandler) Handle(ctx context.Context, r slog.Record) error {
	h.hub.mu.Lock()
	defer h.hub.mu.Unlock()
	h.hub.cur = r.Level
	var err error
	if h.hub.wants(r.Level, false) {
		err = h.text.Handle(ctx, r)
	}
	if h.hub.wants(r.Level, true) {
		err = errors.Join(err, h.json.Handle(ctx, r))
	}
	return err
}

func (h *hubHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &hubHandler{hub: h.hub, text: h.text.WithAttrs(attrs), json: h.json.WithAttrs(attrs)}
}

func (h *hubHandler) WithGroup(name string) slog.Handler {
	return &hubHandler{hub: h.hub, text: h.text.WithGroup(name), json: h.json.WithGroup(name)}
}

// teeHandler sends each record to both handlers, each filtering by its own
// level.
type teeHandler struct{ a, b slog.Handler }

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t.a.Enabled(ctx, l) || t.b.Enabled(ctx, l)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if t.a.Enabled(ctx, r.Level) {
		err = t.a.Handle(ctx, r.Clone())
	}
	if t.b.Enabled(ctx, r.Level) {
		err = errors.Join(err, t.b.Handle(ctx, r))
	}
	return err
}

func (t teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return teeHandler{t.a.WithAttrs(attrs), t.b.WithAttrs(attrs)}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{t.a.WithGroup(name), t.b.WithGroup(name)}
}

// MonitorLogs streams the agent's log lines at or above level, as text or
// JSON, until stop is called (httpapi's LogMonitor).
func (i *agentInfo) MonitorLogs(level slog.Level, json bool) (<-chan []byte, func(), error) {
	return i.a.logs.watch(level, json)
}
