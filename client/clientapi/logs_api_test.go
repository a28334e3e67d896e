package clientapi_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/internal/logfile"
	"github.com/roam-sh/roam/structs"
)

// rotatingJob waits for local/go, then writes 120000 numbered lines (1.56
// MB, so its 1 MB log files rotate once), then END, and stays up.
const rotatingJob = `
job "rotate" {
  datacenters = ["dc1"]
  group "g" {
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", "echo ready >&2; while [ ! -e local/go ]; do sleep 0.02; done; seq -f 'line %07g' 1 120000; echo END; exec sleep 300"]
      }
      logs {
        max_files     = 3
        max_file_size = 1
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`

func rotatingOutput() string {
	var b strings.Builder
	for i := 1; i <= 120000; i++ {
		fmt.Fprintf(&b, "line %07d\n", i)
	}
	b.WriteString("END\n")
	return b.String()
}

// TestLogsFollowAcrossRotation starts following a task's stdout, then lets
// the task write past the 1 MB rotation point: the stream must carry every
// byte, in order, from web.stdout.0 and then web.stdout.1.
func TestLogsFollowAcrossRotation(t *testing.T) {
	la := apitest.StartLiveAgent(t, nil)
	c := la.Client(t)
	al := la.RunJob(t, rotatingJob, structs.TaskStateRunning)
	ctx, cancel := contextFor(t)
	defer cancel()
	s, err := c.AllocFS().Logs(al.ID, "web", api.LogStdout, api.StreamOptions{Follow: true}, &api.QueryOptions{Ctx: ctx})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	allocDir := filepath.Join(la.DataDir, "alloc", al.ID)
	if err := os.WriteFile(filepath.Join(allocDir, "web/local/go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want := rotatingOutput()
	var got strings.Builder
	var files []string
	for got.Len() < len(want) {
		f := nextFrame(t, s)
		got.Write(f.Data)
		if !slices.Contains(files, f.File) {
			files = append(files, f.File)
		}
	}
	if got.String() != want {
		t.Fatalf("followed output differs from the task's: %d bytes, want %d", got.Len(), len(want))
	}
	if !slices.Equal(files, []string{"alloc/logs/web.stdout.0", "alloc/logs/web.stdout.1"}) {
		t.Fatalf("frames came from %v", files)
	}
	idxs, _ := logfile.Indexes(filepath.Join(allocDir, "alloc/logs"), "web.stdout")
	if !slices.Equal(idxs, []int{0, 1}) {
		t.Fatalf("log files %v", idxs)
	}

	// origin=end counts back across the files: the last 2 MB-ish reach
	// into web.stdout.0.
	tail := int64(len(want) - 1000)
	r, err := c.AllocFS().Logs(al.ID, "web", api.LogStdout, api.StreamOptions{Origin: api.OriginEnd, Offset: tail}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := readFrames(t, r); b != want[1000:] {
		t.Fatalf("origin end offset %d: %d bytes, want %d", tail, len(b), len(want)-1000)
	}
	// origin=start with an offset past the first file starts in the second.
	r, err = c.AllocFS().Logs(al.ID, "web", api.LogStdout, api.StreamOptions{Offset: 1<<20 + 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := readFrames(t, r); b != want[1<<20+5:] {
		t.Fatalf("origin start offset: %d bytes", len(b))
	}
	// plain=true is the raw text.
	code, body := get(t, la.URL, "/v1/client/fs/logs/"+al.ID, url.Values{"task": {"web"}, "type": {"stderr"}, "plain": {"true"}})
	if code != 200 || body != "ready\n" {
		t.Fatalf("plain stderr: %d %q", code, body)
	}
	for _, q := range []url.Values{{"type": {"stdout"}}, {"task": {"nope"}, "type": {"stdout"}}, {"task": {"web"}, "type": {"stdlog"}}} {
		if code, body := get(t, la.URL, "/v1/client/fs/logs/"+al.ID, q); code != 400 {
			t.Errorf("logs %v: %d %q, want 400", q, code, body)
		}
	}
}

func readFrames(t *testing.T, s *api.FrameStream) string {
	t.Helper()
	defer s.Close()
	var b strings.Builder
	for {
		f, err := s.Next()
		if err != nil {
			return b.String()
		}
		b.Write(f.Data)
	}
}

// TestLogsFollowEndsWithDeadTask: following a batch task's log ends once
// the task is dead and its last output was sent.
func TestLogsFollowEndsWithDeadTask(t *testing.T) {
	la := apitest.StartLiveAgent(t, nil)
	c := la.Client(t)
	al := la.RunJob(t, `
job "once" {
  datacenters = ["dc1"]
  type = "batch"
  group "g" {
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo one; echo two"]
      }
    }
  }
}`, structs.TaskStateDead)
	ctx, cancel := contextFor(t)
	defer cancel()
	s, err := c.AllocFS().Logs(al.ID, "web", api.LogStdout, api.StreamOptions{Follow: true}, &api.QueryOptions{Ctx: ctx})
	if err != nil {
		t.Fatal(err)
	}
	if got := readFrames(t, s); got != "one\ntwo\n" || ctx.Err() != nil {
		t.Fatalf("followed %q (context: %v)", got, ctx.Err())
	}
}
