package taskrunner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-sh/roam/client/allocdir"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// TestSecurityPrivateDispatchPayload: the dispatch payload is written to
// local/<file>, never into the task's private/ folder: not by a name
// (which validation refuses too) and not through a link the task planted
// in local/; the control file there keeps its content.
func TestSecurityPrivateDispatchPayload(t *testing.T) {
	for _, file := range []string{"../private/handle.json", "l/handle.json", "l/spec.json", "out/payload"} {
		t.Run(file, func(t *testing.T) {
			ad := allocdir.New(t.TempDir(), "a1", testutil.Logger(t))
			td := ad.TaskDir("web")
			for _, d := range []string{td.LocalDir, td.PrivateDir} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			spec := filepath.Join(td.PrivateDir, "spec.json")
			if err := os.WriteFile(spec, []byte("control"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("../private", filepath.Join(td.LocalDir, "l")); err != nil {
				t.Fatal(err)
			}
			job := &structs.Job{ID: "j", Dispatched: true, Payload: []byte(`{"pid": 1, "start": 0}`)}
			req := &PrestartRequest{
				Alloc: &structs.Allocation{ID: "a1", Job: job}, TaskDir: td,
				Task: &structs.Task{Name: "web", DispatchPayload: &structs.DispatchPayloadConfig{File: file}},
			}
			err := newDispatchPayloadHook(ad.Dir, testutil.Logger(t)).Prestart(context.Background(), req, &PrestartResponse{})
			if file == "out/payload" {
				if b, rerr := os.ReadFile(filepath.Join(td.LocalDir, "out", "payload")); err != nil || rerr != nil || string(b) != string(job.Payload) {
					t.Fatalf("payload beside private/: %v, %v, %q", err, rerr, b)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "private/ folder") {
				t.Errorf("Prestart = %v, want refused for private/", err)
			}
			if b, _ := os.ReadFile(spec); string(b) != "control" {
				t.Errorf("control file changed: %q", b)
			}
			if _, err := os.Stat(filepath.Join(td.PrivateDir, "handle.json")); err == nil {
				t.Error("a file was made in private/")
			}
		})
	}
}
