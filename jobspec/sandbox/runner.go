package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/roam-sh/roam/internal/selfexec"
	"github.com/roam-sh/roam/jobspec"
	"github.com/roam-sh/roam/structs"
)

// Limits bound one evaluation of a job file. A zero field takes its value
// from DefaultLimits.
type Limits struct {
	// Timeout is the wall-clock budget of one evaluation, child start
	// included.
	Timeout time.Duration
	// CPU is the child's CPU-time budget (RLIMIT_CPU), rounded up to seconds.
	CPU time.Duration
	// Memory is the child's budget of writable memory in bytes
	// (RLIMIT_DATA: the heap and every other private writable mapping).
	Memory uint64
	// Output caps the JSON the child returns: a short file that expands to
	// an enormous job fails here rather than in the caller's memory.
	Output int64
}

// DefaultLimits are far above what any real job file needs (a large job
// file evaluates in milliseconds, in a few tens of megabytes) and far below
// what would hurt an agent.
func DefaultLimits() Limits {
	return Limits{
		Timeout: 10 * time.Second,
		CPU:     10 * time.Second,
		Memory:  1 << 30,
		Output:  64 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	if l.CPU <= 0 {
		l.CPU = d.CPU
	}
	if l.Memory == 0 {
		l.Memory = d.Memory
	}
	if l.Output <= 0 {
		l.Output = d.Output
	}
	return l
}

// Binary says how to start a child: normally the running roam binary with
// SubcommandArgs; tests re-execute the test binary (see sandboxtest).
type Binary = selfexec.Binary

// SelfBinary is the Binary of the running roam executable.
func SelfBinary() (Binary, error) { return selfexec.Self(SubcommandArgs...) }

// Runner parses job files in child processes. The zero Limits are the
// defaults; Binary is required.
type Runner struct {
	Binary Binary
	Limits Limits
}

// Parse is jobspec.Parse run in a child under r's limits. It returns a
// *jobspec.Error for a job file with problems, a *LimitError for one that
// is too expensive, ctx's error when ctx ends first, and a wrapped error
// when the child could not run at all.
func (r Runner) Parse(ctx context.Context, filename string, src []byte, opts jobspec.ParseOptions) (*structs.Job, error) {
	lim := r.Limits.withDefaults()
	in, err := json.Marshal(request{Filename: filename, Src: src, Opts: opts})
	if err != nil {
		return nil, fmt.Errorf("encode parse request: %w", err)
	}
	runCtx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	out, runErr := r.run(runCtx, lim, in)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("parse job file: %w", err)
	}
	if errors.Is(runCtx.Err(), context.DeadlineExceeded) {
		return nil, limitf("evaluation took longer than %s", lim.Timeout)
	}
	if runErr != nil {
		return nil, runErr
	}
	return decodeResponse(out)
}

// run starts the child, feeds it in and returns its stdout.
func (r Runner) run(ctx context.Context, lim Limits, in []byte) ([]byte, error) {
	if r.Binary.Path == "" {
		return nil, errors.New("parse job file: no binary to run the parser in")
	}
	cmd := exec.CommandContext(ctx, r.Binary.Path, r.Binary.Args...)
	cmd.Env = append(os.Environ(), r.Binary.Env...)
	cmd.Env = append(cmd.Env,
		envMemory+"="+strconv.FormatUint(lim.Memory, 10),
		envCPU+"="+strconv.FormatInt(int64((lim.CPU+time.Second-1)/time.Second), 10))
	cmd.Stdin = bytes.NewReader(in)
	// The child's own process group, so the kill reaches anything it
	// started, and so a terminal's ^C is the parent's to handle.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	stdout := &capped{max: lim.Output}
	stderr := &capped{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	switch {
	case stdout.over:
		return nil, limitf("its result is larger than %d bytes", lim.Output)
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, childFailure(err, stderr.String(), lim)
	}
	return stdout.Bytes(), nil
}

// childFailure says why a child died: a limit when it ran out of memory or
// CPU, otherwise a failure of the agent's own to run it.
func childFailure(err error, stderr string, lim Limits) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			switch ws.Signal() {
			case syscall.SIGXCPU, syscall.SIGKILL:
				return limitf("it used more than %s of CPU time", lim.CPU)
			}
		}
		if strings.Contains(stderr, "out of memory") || strings.Contains(stderr, "cannot allocate memory") {
			return limitf("it needed more than %d MiB of memory", lim.Memory>>20)
		}
		if strings.Contains(stderr, "stack exceeds") || strings.Contains(stderr, "goroutine stack exceeds") {
			return limitf("it nests too deeply")
		}
	}
	return fmt.Errorf("parse job file: parser process failed: %w: %s", err, firstLines(stderr, 5))
}

func decodeResponse(out []byte) (*structs.Job, error) {
	var resp response
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, fmt.Errorf("parse job file: decode parser result: %w", err)
	}
	switch {
	case resp.Error != nil:
		return nil, resp.Error
	case resp.Fail != "":
		return nil, fmt.Errorf("parse job file: %s", resp.Fail)
	case resp.Job == nil:
		return nil, errors.New("parse job file: parser returned no job")
	}
	return resp.Job, nil
}

// capped is a buffer that keeps at most max bytes and remembers overflow.
// Writes beyond the cap fail, which makes the child's write fail with
// EPIPE-like errors after the parent stops reading.
//
// The buffer is a field, not embedded: an embedded bytes.Buffer would lend
// capped its ReadFrom, and io.Copy would then bypass Write and the cap.
type capped struct {
	buf  bytes.Buffer
	max  int64
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if int64(c.buf.Len())+int64(len(p)) > c.max {
		c.over = true
		return 0, io.ErrShortWrite
	}
	return c.buf.Write(p)
}

func (c *capped) Bytes() []byte  { return c.buf.Bytes() }
func (c *capped) String() string { return c.buf.String() }

func firstLines(s string, n int) string {
	lines := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
