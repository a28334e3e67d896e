package rawexec

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/internal/logfile"
)

func TestTaskStatsFromProc(t *testing.T) {
	d := newDriver(t, true)
	// A busy loop in the background keeps one core partly busy; the shell
	// itself waits.
	cfg := taskConfig(t, sh(`while :; do :; done & echo ready; wait`))
	start(t, d, cfg)
	waitFileContains(t, cfg.StdoutPath, "ready")
	u, err := d.TaskStats(t.Context(), cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.MemoryRSSBytes == 0 || len(u.Pids) < 2 || u.Timestamp == 0 {
		t.Fatalf("usage %+v", u)
	}
	if u.CPUPercent <= 1 || u.CPUTotalTicks <= 0 {
		t.Fatalf("a busy task reports %.1f%% CPU, %.0f MHz", u.CPUPercent, u.CPUTotalTicks)
	}
	if err := d.StopTask(context.Background(), cfg.ID, time.Second, "SIGKILL"); err != nil {
		t.Fatal(err)
	}
	waitExit(t, d, cfg.ID, 10*time.Second)
	if _, err := d.TaskStats(t.Context(), cfg.ID); err == nil {
		t.Fatal("stats of an exited task")
	}
}

func TestExecTaskStreaming(t *testing.T) {
	d := newDriver(t, true)
	cfg, release := fifoTask(t)
	cfg.Env["FOO"] = "from-task"
	start(t, d, cfg)
	defer release()
	waitFileContains(t, cfg.StdoutPath, "ready")
	var stdout, stderr strings.Builder
	res, err := d.ExecTaskStreaming(t.Context(), cfg.ID, &drivers.ExecOptions{
		Command: []string{"sh", "-c", `echo "$FOO in $(pwd)"; read x; echo "read $x" >&2; exit 4`},
		Stdin:   strings.NewReader("line\n"), Stdout: &stdout, Stderr: &stderr,
	})
	if err != nil || res.ExitCode != 4 {
		t.Fatalf("exec %+v %v", res, err)
	}
	if stdout.String() != "from-task in "+cfg.TaskDir.Dir+"\n" || stderr.String() != "read line\n" {
		t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
	if _, err := d.ExecTaskStreaming(context.Background(), "nope", &drivers.ExecOptions{Command: []string{"true"}}); err == nil {
		t.Fatal("exec in an unknown task")
	}
}

func TestLogsBlockRotatesTaskOutput(t *testing.T) {
	d := newDriver(t, true)
	cfg := taskConfig(t, sh(`head -c 2500000 /dev/zero | tr '\0' x; echo; echo done`))
	cfg.Logs = drivers.LogConfig{MaxFiles: 2, MaxFileSizeMB: 1}
	start(t, d, cfg)
	if res := waitExit(t, d, cfg.ID, 20*time.Second); res.ExitCode != 0 {
		t.Fatalf("exit %+v", res)
	}
	idxs, err := logfile.Indexes(cfg.TaskDir.LogDir, "web.stdout")
	if err != nil || len(idxs) != 2 || idxs[0] != 1 || idxs[1] != 2 {
		t.Fatalf("files %v %v, want [1 2]", idxs, err)
	}
	last, _ := os.ReadFile(filepath.Join(cfg.TaskDir.LogDir, "web.stdout.2"))
	if len(last) != 2500000+6-2<<20 || !strings.HasSuffix(string(last), "x\ndone\n") {
		t.Fatalf("newest file: %d bytes ending %q", len(last), last[max(0, len(last)-10):])
	}
}
