package clientapi_test

import (
	"bytes"
	"encoding/json"

	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// fileJob writes files into local/ and alloc/data, a symlink out of the
// allocation and one into its secrets, then appends to local/grow.txt
// whenever local/more appears.
const fileJob = `
job "files" {
  datacenters = ["dc1"]
  group "g" {
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", <<EOS
printf 'hello local\n' > local/hello.txt
printf 'shared data\n' > ../alloc/data/shared.txt
printf 'top secret\n' > secrets/token
ln -s /etc local/etc
ln -s ../secrets/token local/sneaky
printf 'first\n' > local/grow.txt
echo "task started"
while :; do
  if [ -e local/more ]; then rm local/more; printf 'second\n' >> local/grow.txt; fi
  sleep 0.02
done
EOS
        ]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`

// get performs a GET on the agent and returns the status and body.
func get(t *testing.T, base, path string, params url.Values) (int, string) {
	t.Helper()
	resp, err := http.Get(base + path + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitFile(t *testing.T, la *apitest.LiveAgent, allocID, rel string) {
	t.Helper()
	p := filepath.Join(la.DataDir, "alloc", allocID, rel)
	testutil.WaitFor(t, apitest.Wait, func() error {
		_, err := os.Stat(p)
		return err
	})
}

func TestFileExplorer(t *testing.T) {
	la := apitest.StartLiveAgent(t, nil)
	c := la.Client(t)
	al := la.RunJob(t, fileJob, structs.TaskStateRunning)
	fsys := c.AllocFS()
	waitFile(t, la, al.ID, "web/local/grow.txt")
	waitFile(t, la, al.ID, "web/local/sneaky")

	root, err := fsys.List(al.ID, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if names := fileNames(root); names != "alloc/ web/" {
		t.Fatalf("root listing %q", names)
	}
	local, err := fsys.List(al.ID, "web/local", nil)
	if err != nil {
		t.Fatal(err)
	}
	if names := fileNames(local); names != "etc grow.txt hello.txt sneaky" {
		t.Fatalf("local listing %q", names)
	}
	for _, fi := range local {
		if fi.Name == "hello.txt" && (fi.Size != 12 || fi.FileMode != "-rw-r--r--" || !strings.HasPrefix(fi.ContentType, "text/plain")) {
			t.Fatalf("hello.txt %+v", fi)
		}
		if fi.Name == "etc" && !strings.HasPrefix(fi.FileMode, "L") {
			t.Fatalf("symlink listed as %+v", fi)
		}
	}
	st, err := fsys.Stat(al.ID, "alloc/data/shared.txt", nil)
	if err != nil || st.Name != "shared.txt" || st.IsDir || st.Size != 12 {
		t.Fatalf("stat %+v %v", st, err)
	}
	if got := readAll(t)(fsys.Cat(al.ID, "web/local/hello.txt", nil)); got != "hello local\n" {
		t.Fatalf("cat %q", got)
	}
	if got := readAll(t)(fsys.ReadAt(al.ID, "alloc/data/shared.txt", 7, 4, nil)); got != "data" {
		t.Fatalf("readat %q", got)
	}
	if got := readAll(t)(fsys.ReadAt(al.ID, "alloc/data/shared.txt", 7, 0, nil)); got != "data\n" {
		t.Fatalf("readat to the end %q", got)
	}
	// Follow a file and see what the task appends.
	ctx, cancel := contextFor(t)
	defer cancel()
	s, err := fsys.Stream(al.ID, "web/local/grow.txt", api.StreamOptions{Follow: true}, &api.QueryOptions{Ctx: ctx})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := nextFrame(t, s)
	if string(f.Data) != "first\n" || f.File != "web/local/grow.txt" || f.Offset != 6 {
		t.Fatalf("first frame %+v", f)
	}
	if err := os.WriteFile(filepath.Join(la.DataDir, "alloc", al.ID, "web/local/more"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if f := nextFrame(t, s); string(f.Data) != "second\n" || f.Offset != 13 {
		t.Fatalf("appended frame %+v", f)
	}
}

func TestFileExplorerRefusals(t *testing.T) {
	la := apitest.StartLiveAgent(t, nil)
	al := la.RunJob(t, fileJob, structs.TaskStateRunning)
	waitFile(t, la, al.ID, "web/local/sneaky")
	tests := []struct {
		op, path string
		code     int
		msg      string
	}{
		{"cat", "../../etc/passwd", 400, `".."`},
		{"ls", "web/..", 400, `".."`},
		{"cat", "/etc/passwd", 404, "file not found"},
		{"cat", "web/local/etc/passwd", 403, "escapes the allocation directory"},
		{"ls", "web/local/etc", 403, "escapes the allocation directory"},
		{"cat", "web/secrets/token", 403, "secrets/ and private/"},
		{"ls", "web/secrets", 403, "secrets/ and private/"},
		{"ls", "web/private", 403, "secrets/ and private/"},
		{"cat", "web/local/sneaky", 403, "secrets/ and private/"},
		{"stream", "web/local/sneaky", 403, "secrets/ and private/"},
		{"cat", "web/local", 400, "is a directory"},
		{"ls", "web/local/hello.txt", 400, "not a directory"},
	}
	for _, tc := range tests {
		code, body := get(t, la.URL, "/v1/client/fs/"+tc.op+"/"+al.ID, url.Values{"path": {tc.path}})
		if code != tc.code || !strings.Contains(body, tc.msg) {
			t.Errorf("%s %s: %d %q, want %d containing %q", tc.op, tc.path, code, body, tc.code, tc.msg)
		}
	}
	code, body := get(t, la.URL, "/v1/client/fs/ls/"+structs.GenerateUUID(), nil)
	if code != 404 || strings.TrimSpace(body) != "alloc not found" {
		t.Errorf("unknown alloc: %d %q", code, body)
	}
	code, _ = get(t, la.URL, "/v1/client/fs/readat/"+al.ID, url.Values{"path": {"web/local/hello.txt"}})
	if code != 400 {
		t.Errorf("readat without offset: %d", code)
	}
}

func fileNames(files []*api.AllocFileInfo) string {
	var names []string
	for _, f := range files {
		n := f.Name
		if f.IsDir {
			n += "/"
		}
		names = append(names, n)
	}
	return strings.Join(names, " ")
}

// readAll reads a body an api call returned: readAll(t)(fsys.Cat(...)).
func readAll(t *testing.T) func(io.ReadCloser, error) string {
	return func(r io.ReadCloser, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}

// nextFrame reads the next data frame or fails after the test's wait.
func nextFrame(t *testing.T, s *api.FrameStream) *api.StreamFrame {
	t.Helper()
	type result struct {
		f   *api.StreamFrame
		err error
	}
	ch := make(chan result, 1)
	go func() {
		f, err := s.Next()
		ch <- result{f, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("next frame: %v", r.err)
		}
		return r.f
	case <-time.After(apitest.Wait):
		t.Fatal("no frame within the wait")
	}
	return nil
}

func decodeJSON(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.NewDecoder(bytes.NewBufferString(body)).Decode(v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
}
