package executor_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/executor"
	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/internal/logfile"
)

func TestMain(m *testing.M) {
	executortest.MaybeRun()
	os.Exit(m.Run())
}

// launch starts an executor for a shell script and makes sure nothing it
// started outlives the test.
func launch(t *testing.T, spec executor.Spec) *executor.Handle {
	t.Helper()
	dir := t.TempDir()
	if spec.Dir == "" {
		spec.Dir, spec.TaskDir = dir, dir
	}
	if spec.Logs == nil && spec.StdoutPath == "" {
		spec.Logs = &executor.LogSpec{Dir: dir, Name: "task"}
	}
	if spec.Env == nil {
		spec.Env = []string{"PATH=" + os.Getenv("PATH")}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := executor.Launch(ctx, executortest.Binary(), filepath.Join(dir, "executor"), spec)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-h.TaskPID, syscall.SIGKILL)
		_ = syscall.Kill(h.ExecutorPID, syscall.SIGKILL)
	})
	return h
}

func wait(t *testing.T, h *executor.Handle) *executor.ExitStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := h.Wait(ctx)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	return st
}

func TestExecutorRotatesTaskOutput(t *testing.T) {
	logs := t.TempDir()
	h := launch(t, executor.Spec{
		Command: "/bin/sh", Args: []string{"-c", `i=0; while [ $i -lt 400 ]; do echo "line $i"; i=$((i+1)); done; echo err >&2`},
		Logs: &executor.LogSpec{Dir: logs, Name: "web", MaxFiles: 3, MaxFileBytes: 500},
	})
	if st := wait(t, h); st.ExitCode != 0 {
		t.Fatalf("exit %+v", st)
	}
	var want strings.Builder
	for i := range 400 {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	idxs, err := logfile.Indexes(logs, "web.stdout")
	if err != nil {
		t.Fatal(err)
	}
	// 3490 bytes in files of 500: indexes 0..6, of which the newest 3 stay.
	if len(idxs) != 3 || idxs[0] != 4 || idxs[2] != 6 {
		t.Fatalf("stdout files %v, want [4 5 6]", idxs)
	}
	var got strings.Builder
	for _, i := range idxs {
		b, _ := os.ReadFile(filepath.Join(logs, logfile.Name("web", logfile.Stdout, i)))
		got.Write(b)
	}
	if !strings.HasSuffix(want.String(), got.String()) || !strings.HasSuffix(got.String(), "line 399\n") || got.Len() != 3490-2000 {
		t.Fatalf("kept output (%d bytes) is not the end of the task's output: %q", got.Len(), got.String())
	}
	if b, _ := os.ReadFile(filepath.Join(logs, "web.stderr.0")); string(b) != "err\n" {
		t.Fatalf("stderr %q", b)
	}
}

func TestExecutorLogsDisabled(t *testing.T) {
	logs := t.TempDir()
	h := launch(t, executor.Spec{
		Command: "/bin/sh", Args: []string{"-c", `echo out; echo err >&2`},
		Logs: &executor.LogSpec{Dir: logs, Name: "web", Disabled: true},
	})
	if st := wait(t, h); st.ExitCode != 0 {
		t.Fatalf("exit %+v", st)
	}
	if entries, _ := os.ReadDir(logs); len(entries) != 0 {
		t.Fatalf("log dir has %d files with logging disabled", len(entries))
	}
}

// sleeper launches a task that runs until killed.
func sleeper(t *testing.T) (*executor.Handle, string) {
	t.Helper()
	dir := t.TempDir()
	h := launch(t, executor.Spec{Command: "/bin/sleep", Args: []string{"300"}, Dir: dir, TaskDir: dir, Env: []string{"PATH=" + os.Getenv("PATH")}})
	return h, dir
}

func TestExecStreamingPipes(t *testing.T) {
	h, dir := sleeper(t)
	var stdout, stderr strings.Builder
	st, err := h.ExecStreaming(t.Context(), &executor.ExecRequest{
		Command: []string{"sh", "-c", `echo out; echo err >&2; pwd; cat; exit 7`},
		Env:     []string{"PATH=" + os.Getenv("PATH")}, Dir: dir,
		Stdin: strings.NewReader("from stdin\n"), Stdout: &stdout, Stderr: &stderr,
	})
	if err != nil || st.ExitCode != 7 {
		t.Fatalf("exec: %+v %v", st, err)
	}
	if want := "out\n" + dir + "\nfrom stdin\n"; stdout.String() != want || stderr.String() != "err\n" {
		t.Fatalf("stdout %q stderr %q, want %q and %q", stdout.String(), stderr.String(), want, "err\n")
	}
}

func TestExecStreamingTTY(t *testing.T) {
	h, dir := sleeper(t)
	resize := make(chan drivers.TerminalSize, 1)
	resize <- drivers.TerminalSize{Height: 40, Width: 100}
	var out strings.Builder
	st, err := h.ExecStreaming(t.Context(), &executor.ExecRequest{
		Command: []string{"sh", "-c", `tty; stty size; read line; echo "got $line"; exit 3`},
		Env:     []string{"PATH=" + os.Getenv("PATH")}, Dir: dir, Tty: true,
		Stdin: strings.NewReader("typed\n"), Stdout: &out, Resize: resize,
	})
	if err != nil || st.ExitCode != 3 {
		t.Fatalf("exec: %+v %v", st, err)
	}
	got := strings.ReplaceAll(out.String(), "\r\n", "\n")
	for _, want := range []string{"/dev/pts/", "40 100\n", "got typed\n"} {
		if !strings.Contains(got, want) {
			t.Fatalf("terminal output %q lacks %q", got, want)
		}
	}
}

// lineSignal closes ch when the first write arrives.
type lineSignal struct {
	once sync.Once
	ch   chan struct{}
}

func (l *lineSignal) Write(p []byte) (int, error) {
	l.once.Do(func() { close(l.ch) })
	return len(p), nil
}

func TestExecStreamingCancelKills(t *testing.T) {
	h, dir := sleeper(t)
	ctx, cancel := context.WithCancel(t.Context())
	started := &lineSignal{ch: make(chan struct{})}
	go func() {
		<-started.ch
		cancel()
	}()
	st, err := h.ExecStreaming(ctx, &executor.ExecRequest{
		Command: []string{"sh", "-c", `echo started; exec sleep 300`},
		Env:     []string{"PATH=" + os.Getenv("PATH")}, Dir: dir, Stdout: started,
	})
	if err != nil || st.Signal != int(syscall.SIGKILL) {
		t.Fatalf("cancelled exec: %+v %v", st, err)
	}
}
