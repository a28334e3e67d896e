package template

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// childRequest is what the parent writes on the child's stdin, as one line;
// the parent then keeps stdin open, and its end (the parent stopped the
// engine, or died) ends the child.
type childRequest struct {
	Config Config
}

// wireEvent is one Event on the child's stdout, with the content sums the
// parent answers Sums with.
type wireEvent struct {
	Kind    EventKind
	Missing []string `json:",omitempty"`
	Changed []int    `json:",omitempty"`
	Index   int
	Err     string   `json:",omitempty"`
	Sums    []string `json:",omitempty"`
}

// Environment variables carrying the limits to the child; it applies them
// before it reads its request.
const (
	envMemory = "ROAM_TEMPLATE_MAX_MEMORY"
	envBusy   = "ROAM_TEMPLATE_MAX_BUSY_MS"
)

// ChildMain runs an engine child: apply the limits, read the request, run
// the engine and write its events until stdin ends. It returns the exit
// code.
func ChildMain() int {
	out := &eventWriter{enc: json.NewEncoder(os.Stdout)}
	busy, err := applyChildLimits()
	if err != nil {
		out.fail(fmt.Sprintf("apply limits: %v", err))
		return 2
	}
	// consul-template logs through the standard logger; its lines would
	// crowd out the reason the parent reads from stderr when the child dies.
	log.SetOutput(io.Discard)
	in := bufio.NewReader(io.LimitReader(os.Stdin, 64<<20))
	var req childRequest
	if err := json.NewDecoder(in).Decode(&req); err != nil {
		out.fail(fmt.Sprintf("read request: %v", err))
		return 2
	}
	cfg := req.Config
	cfg.Sandbox = nil
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng, err := New(cfg)
	if err != nil {
		out.fail(err.Error())
		return 1
	}
	go watchBusy(busy, func(msg string) { out.fail(msg); os.Exit(3) })
	go func() { _, _ = io.Copy(io.Discard, in); eng.Stop(); os.Exit(0) }() // the parent is gone
	eng.Start()
	for ev := range eng.Events() {
		w := wireEvent{Kind: ev.Kind, Missing: ev.Missing, Changed: ev.Changed, Index: ev.Index, Sums: eng.Sums()}
		if ev.Err != nil {
			w.Err = ev.Err.Error()
		}
		out.write(w)
		if ev.Kind == EventFailed {
			return 1
		}
	}
	return 0
}

// eventWriter serializes writes from the event loop and the watchdog.
type eventWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (w *eventWriter) write(ev wireEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.enc.Encode(ev)
}

func (w *eventWriter) fail(msg string) { w.write(wireEvent{Kind: EventFailed, Err: msg}) }

// applyChildLimits lowers the child's memory limit and priority, and
// returns the busy budget for watchBusy.
//
// RLIMIT_DATA makes an allocation beyond the budget fail (the Go runtime
// then dies with "out of memory"); the soft Go memory limit at 3/4 of it
// makes the collector reclaim garbage first. The nice value keeps a busy
// render behind the agent's own work until the watchdog stops it.
func applyChildLimits() (time.Duration, error) {
	if mem, err := strconv.ParseUint(os.Getenv(envMemory), 10, 64); err == nil && mem > 0 {
		var cur syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_DATA, &cur); err != nil {
			return 0, err
		}
		lim := min(mem, cur.Max)
		if err := syscall.Setrlimit(syscall.RLIMIT_DATA, &syscall.Rlimit{Cur: lim, Max: lim}); err != nil {
			return 0, fmt.Errorf("limit memory: %w", err)
		}
		debug.SetMemoryLimit(int64(lim / 4 * 3))
	}
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, 0, 10)
	busy := DefaultLimits().Busy
	if ms, err := strconv.ParseInt(os.Getenv(envBusy), 10, 64); err == nil && ms > 0 {
		busy = time.Duration(ms) * time.Millisecond
	}
	return busy, nil
}

// watchBusy calls fail once the process has used more than budget of CPU
// time without going idle in between (a quarter second in which it used
// under 5% of a core). A template renders in milliseconds and then waits
// for data, so only a render that never ends gets there, however little
// CPU a loaded host gives it. A goroutine running a template cannot be
// interrupted, so the whole process ends: the parent reports the reason and
// the task's templates fail.
func watchBusy(budget time.Duration, fail func(string)) {
	const tick = 250 * time.Millisecond
	last := cpuTime()
	var streak time.Duration
	for range time.Tick(tick) {
		cpu := cpuTime()
		used := cpu - last
		last = cpu
		if used < tick/20 {
			streak = 0
			continue
		}
		if streak += used; streak > budget {
			fail(fmt.Sprintf("templates: rendering used more than %s of CPU time without pause; the limit is %s", budget, budget))
			return
		}
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
