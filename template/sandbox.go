package template

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/roam-sh/roam/internal/selfexec"
)

// SubcommandArgs are the hidden arguments of the roam binary that run an
// engine in a child: cmd/roam calls ChildMain when os.Args[1:] starts with
// them.
var SubcommandArgs = []string{"internal", "template"}

// SelfBinary is the Binary of the running roam executable.
func SelfBinary() (selfexec.Binary, error) { return selfexec.Self(SubcommandArgs...) }

// MaybeRunChild turns the process into an engine child when it was started
// with SubcommandArgs (the roam binary, or a test binary standing in for it
// in packages whose tests run agents); otherwise it returns. Call it first
// in main and in such packages' TestMain.
func MaybeRunChild() {
	a := SubcommandArgs
	if len(os.Args) > len(a) && os.Args[1] == a[0] && os.Args[2] == a[1] {
		os.Exit(ChildMain())
	}
}

// Sandbox runs an engine in a child process of the roam binary, so that a
// hostile template costs a bounded amount of memory and CPU and then fails,
// instead of crashing, stalling or exhausting the agent. See docs/templates.md
// (Limits) for why a process rather than checks in the renderer.
type Sandbox struct {
	// Binary starts the child: this executable with SubcommandArgs (tests
	// re-execute the test binary).
	Binary selfexec.Binary
	// Limits bound the child; zero fields take DefaultLimits' values.
	Limits Limits
}

// Limits bound one task's template child.
type Limits struct {
	// Memory is the child's budget of writable memory in bytes
	// (RLIMIT_DATA); an allocation beyond it kills the child.
	Memory uint64
	// Busy is the CPU time the child may use without going idle: a render
	// that runs this long is stopped and the templates fail. Real templates
	// render in milliseconds and then wait for data.
	Busy time.Duration
}

// DefaultLimits are far above what a real template needs (a few MiB and
// milliseconds per render) and far below what would hurt an agent.
func DefaultLimits() Limits {
	return Limits{Memory: 256 << 20, Busy: 10 * time.Second}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.Memory == 0 {
		l.Memory = d.Memory
	}
	if l.Busy <= 0 {
		l.Busy = d.Busy
	}
	return l
}

// childProc is the parent's side of an engine running in a child.
type childProc struct {
	sb  Sandbox
	cmd *exec.Cmd
	// stdin stays open while the engine runs: closing it ends the child.
	stdin io.WriteCloser

	mu   sync.Mutex
	sums []string
}

// startChild starts the child, sends it the engine's configuration and
// forwards its events until it ends; it closes e.done then.
func (e *Engine) startChild() {
	defer close(e.done)
	c := e.child
	lim := c.sb.Limits.withDefaults()
	cfg := e.cfg
	cfg.Sandbox, cfg.Logger = nil, nil
	req, err := json.Marshal(childRequest{Config: cfg})
	if err != nil {
		e.send(Event{Kind: EventFailed, Err: fmt.Errorf("templates: encode child request: %w", err)})
		return
	}
	cmd := exec.Command(c.sb.Binary.Path, c.sb.Binary.Args...)
	cmd.Env = append(os.Environ(), c.sb.Binary.Env...)
	cmd.Env = append(cmd.Env,
		envMemory+"="+strconv.FormatUint(lim.Memory, 10),
		envBusy+"="+strconv.FormatInt(lim.Busy.Milliseconds(), 10))
	// Its own process group, so that Stop's kill reaches all of it; the
	// child ends by itself when its stdin closes (this process died).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr := &capped{max: 64 << 10}
	cmd.Stderr = stderr
	stdin, err1 := cmd.StdinPipe()
	stdout, err2 := cmd.StdoutPipe()
	if err := errors.Join(err1, err2, cmd.Start()); err != nil {
		e.send(Event{Kind: EventFailed, Err: fmt.Errorf("templates: start renderer process: %w", err)})
		return
	}
	c.mu.Lock()
	c.cmd, c.stdin = cmd, stdin
	c.mu.Unlock()
	if e.stopping() { // Stop came before the child existed
		c.kill()
	}
	_, _ = stdin.Write(append(req, '\n'))
	failed := e.forwardChild(stdout)
	err = cmd.Wait()
	if failed || e.stopping() {
		return
	}
	e.send(Event{Kind: EventFailed, Err: fmt.Errorf("templates: %w", childDied(err, stderr.String(), peakRSS(cmd), lim))})
}

// forwardChild sends the child's events on until its stdout ends; it
// reports whether the child sent its own failure.
func (e *Engine) forwardChild(stdout io.Reader) bool {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var w wireEvent
		if err := json.Unmarshal(sc.Bytes(), &w); err != nil {
			continue
		}
		if w.Sums != nil {
			e.child.mu.Lock()
			e.child.sums = w.Sums
			e.child.mu.Unlock()
		}
		ev := Event{Kind: w.Kind, Missing: w.Missing, Changed: w.Changed, Index: w.Index}
		if w.Err != "" {
			ev.Err = errors.New(w.Err)
		}
		e.send(ev)
		if w.Kind == EventFailed {
			e.child.kill()
			return true
		}
	}
	return false
}

func (e *Engine) stopping() bool {
	select {
	case <-e.stopCh:
		return true
	default:
		return false
	}
}

// kill ends the child and everything it started.
func (c *childProc) kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = c.stdin.Close()
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
}

func (c *childProc) sumsCopy(n int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sums == nil {
		return make([]string, n)
	}
	return slices.Clone(c.sums)
}

// childDied says why the child ended without reporting a failure itself:
// a limit when it ran out of memory, a crash otherwise.
//
// Near its memory limit the Go runtime dies in more than one way (out of
// memory, a thread it cannot create, a fault on a mapping it could not
// make), so a child that died having used half its budget or more is
// taken to have hit the limit.
func childDied(err error, stderr string, peak uint64, lim Limits) error {
	switch {
	case err != nil && peak >= lim.Memory/2:
		return fmt.Errorf("rendering needed more than %d MiB of memory (the limit)", lim.Memory>>20)
	// Under RLIMIT_DATA a new thread's stack can be what is refused.
	case strings.Contains(stderr, "out of memory") || strings.Contains(stderr, "cannot allocate memory") ||
		strings.Contains(stderr, "pthread_create failed"):
		return fmt.Errorf("rendering needed more than %d MiB of memory (the limit)", lim.Memory>>20)
	case strings.Contains(stderr, "stack exceeds") || strings.Contains(stderr, "stack overflow"):
		return errors.New("rendering nested too deeply (stack overflow in the renderer process)")
	case err == nil:
		return errors.New("the renderer process ended")
	}
	// The Go runtime can also fault when the kernel refuses it memory.
	return fmt.Errorf("the renderer process died (it may have needed more than %d MiB of memory, the limit): %w: %s",
		lim.Memory>>20, err, firstLines(stderr, 2))
}

// peakRSS is the most memory the ended child had resident, in bytes.
func peakRSS(cmd *exec.Cmd) uint64 {
	if cmd.ProcessState == nil {
		return 0
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > 0 {
		return uint64(ru.Maxrss) << 10 // kilobytes on Linux
	}
	return 0
}

// capped keeps the first max bytes written to it.
type capped struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
