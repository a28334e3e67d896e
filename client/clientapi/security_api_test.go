package clientapi_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/agent"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
)

// specialJob's task makes, in its own directory and in the shared one,
// everything the file API must not open: FIFOs (an open waits for a
// writer), device nodes (an open runs the driver; reading /dev/zero never
// ends), a socket, symlink loops, and a FIFO posing as a rotated log file.
// The agent runs as root in these tests, so mknod works as it would for a
// root task.
const specialJob = `
job "special" {
  datacenters = ["dc1"]
  group "g" {
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", <<EOS
mkfifo local/fifo ../alloc/data/fifo ../alloc/logs/web.stderr.7
mknod local/zero c 1 5
mknod local/null c 1 3
/usr/bin/python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("local/sock")'
ln -s loop local/loop
ln -s b local/a
ln -s a local/b
ln -s ../fifo local/dir-link-to-fifo
ln -s fifo local/to-fifo
echo "error line" >&2
touch local/ready
while :; do sleep 1; done
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

// quickGet is get with a deadline: on the old code a FIFO request never
// answered, which must show as a failure, not a hung test.
func quickGet(t *testing.T, base, path string, params url.Values) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path+"?"+params.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, string(b) + " (read: " + err.Error() + ")"
	}
	return resp.StatusCode, string(b)
}

// TestSecurityFileAPISpecialFiles: device nodes, FIFOs, sockets and symlink
// loops made by a task are refused with a 4xx, quickly, by every content
// endpoint; the listing still shows them.
func TestSecurityFileAPISpecialFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (mknod)")
	}
	la := apitest.StartLiveAgent(t, nil)
	al := la.RunJob(t, specialJob, structs.TaskStateRunning)
	waitFile(t, la, al.ID, "web/local/ready")

	paths := map[string]string{
		"web/local/fifo":             "regular files and directories",
		"alloc/data/fifo":            "regular files and directories",
		"web/local/to-fifo":          "regular files and directories",
		"web/local/zero":             "regular files and directories",
		"web/local/null":             "regular files and directories",
		"web/local/sock":             "regular files and directories",
		"alloc/logs/web.stderr.7":    "regular files and directories",
		"web/local/loop":             "too many levels of symbolic links",
		"web/local/a":                "too many levels of symbolic links",
		"web/local/loop/x":           "too many levels of symbolic links",
		"web/local/fifo/x":           "not a directory",
		"web/local/dir-link-to-fifo": "",
	}
	ops := []struct {
		op     string
		params url.Values
	}{
		{"cat", nil},
		{"readat", url.Values{"offset": {"0"}, "limit": {"10"}}},
		{"stream", url.Values{"follow": {"false"}}},
		{"stream", url.Values{"follow": {"true"}}},
		{"ls", nil},
	}
	for p, msg := range paths {
		for _, o := range ops {
			q := url.Values{"path": {p}}
			for k, v := range o.params {
				q[k] = v
			}
			code, body := quickGet(t, la.URL, "/v1/client/fs/"+o.op+"/"+al.ID, q)
			if code < 400 || code >= 500 || !strings.Contains(body, msg) {
				t.Errorf("%s %s %v: %d %q, want a 4xx saying %q", o.op, p, o.params, code, body, msg)
			}
		}
	}
	// Metadata stays visible: stat and ls describe without opening.
	code, body := quickGet(t, la.URL, "/v1/client/fs/stat/"+al.ID, url.Values{"path": {"web/local/fifo"}})
	if code != 200 || !strings.Contains(body, `"FileMode":"p`) {
		t.Errorf("stat fifo: %d %q", code, body)
	}
	code, body = quickGet(t, la.URL, "/v1/client/fs/ls/"+al.ID, url.Values{"path": {"web/local"}})
	if code != 200 || !strings.Contains(body, `"Name":"zero"`) {
		t.Errorf("ls local: %d %q", code, body)
	}
	// The logs endpoint moves on to newer files on its own: a FIFO posing
	// as stderr.7 ends the stream instead of hanging it.
	code, body = quickGet(t, la.URL, "/v1/client/fs/logs/"+al.ID,
		url.Values{"task": {"web"}, "type": {"stderr"}, "plain": {"true"}, "follow": {"false"}})
	if code != 200 || !strings.Contains(body, "error line") || strings.Contains(body, "(read:") {
		t.Errorf("stderr logs: %d %q, want the log and a clean end", code, body)
	}
}

// boundsJob writes a 4096-byte file and 4096 bytes to stdout, then waits.
const boundsJob = `
job "bounds" {
  datacenters = ["dc1"]
  group "g" {
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", "head -c 4096 /dev/zero | tr '\\\\0' x > local/big; head -c 4096 /dev/zero | tr '\\\\0' y; touch local/ready; while :; do sleep 1; done"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`

// TestSecurityFileAPIReadBounds: one request reads at most the configured
// cap; negative and out-of-range numbers are refused with 400.
func TestSecurityFileAPIReadBounds(t *testing.T) {
	la := apitest.StartLiveAgent(t, func(c *agent.Config) { c.Client.FSMaxReadBytes = 1024 })
	al := la.RunJob(t, boundsJob, structs.TaskStateRunning)
	waitFile(t, la, al.ID, "web/local/ready")
	big := filepath.Join("web", "local", "big")
	tests := []struct {
		op       string
		params   url.Values
		code     int
		wantSize int // bytes of body for a 200
	}{
		{"cat", nil, 400, 0},
		{"readat", url.Values{"offset": {"0"}, "limit": {"0"}}, 400, 0},
		{"readat", url.Values{"offset": {"0"}, "limit": {"2000"}}, 400, 0},
		{"readat", url.Values{"offset": {"0"}, "limit": {"1000"}}, 200, 1000},
		{"readat", url.Values{"offset": {"3500"}, "limit": {"0"}}, 200, 596},
		{"readat", url.Values{"offset": {"0"}, "limit": {"-1"}}, 400, 0},
		{"readat", url.Values{"offset": {"-1"}, "limit": {"10"}}, 400, 0},
		{"readat", url.Values{"offset": {"4097"}, "limit": {"10"}}, 400, 0},
		{"readat", url.Values{"offset": {"9223372036854775807"}, "limit": {"9223372036854775807"}}, 400, 0},
		{"readat", url.Values{"offset": {"9223372036854775808"}, "limit": {"1"}}, 400, 0},
		{"readat", url.Values{"offset": {"1"}, "limit": {"99999999999999999999"}}, 400, 0},
		{"stream", url.Values{"follow": {"false"}, "plain": {"true"}}, 200, 1024},
		{"stream", url.Values{"follow": {"false"}, "plain": {"true"}, "offset": {"-5"}}, 400, 0},
		{"stream", url.Values{"follow": {"false"}, "plain": {"true"}, "offset": {"4000"}}, 200, 96},
	}
	for _, tc := range tests {
		q := url.Values{"path": {big}}
		for k, v := range tc.params {
			q[k] = v
		}
		code, body := quickGet(t, la.URL, "/v1/client/fs/"+tc.op+"/"+al.ID, q)
		if code != tc.code || (code == 200 && len(body) != tc.wantSize) {
			t.Errorf("%s %v: %d with %d bytes (%.80q), want %d with %d", tc.op, tc.params, code, len(body), body, tc.code, tc.wantSize)
		}
	}
	waitFile(t, la, al.ID, "alloc/logs/web.stdout.0")
	code, body := quickGet(t, la.URL, "/v1/client/fs/logs/"+al.ID,
		url.Values{"task": {"web"}, "type": {"stdout"}, "plain": {"true"}, "follow": {"false"}})
	if code != 200 || len(body) != 1024 {
		t.Errorf("logs: %d with %d bytes, want 200 with the first 1024", code, len(body))
	}
}

// secretsJob: task "web" keeps a token in its secrets/ and private/; task
// "side" plants every link it can towards them: from alloc/data, from its
// own directory, and as a rotated log file of its own.
const secretsJob = `
job "secrets" {
  datacenters = ["dc1"]
  group "g" {
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", "printf TOPSECRET > secrets/token; printf TOPSECRET > private/state; touch local/ready; while :; do sleep 1; done"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
    task "side" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", <<EOS
ln -s ../../web/secrets/token ../alloc/data/tok
ln -s ../../web/secrets ../alloc/data/sdir
ln -s ../../web ../alloc/data/webdir
ln -s ../../web/private/state local/state
ln -s ../../web/secrets/token ../alloc/logs/side.stdout.9
echo "side out"
touch local/ready
while :; do sleep 1; done
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

// TestSecurityFileAPISecretsRoutes: no route of the file API serves a
// task's secrets/ or private/: spelled variants, links from the shared
// folder or another task, and the logs endpoint.
func TestSecurityFileAPISecretsRoutes(t *testing.T) {
	la := apitest.StartLiveAgent(t, nil)
	al := la.RunJob(t, secretsJob, structs.TaskStateRunning)
	waitFile(t, la, al.ID, "web/local/ready")
	waitFile(t, la, al.ID, "side/local/ready")
	paths := []string{
		"web/secrets/token", "/web/secrets/token", "web//secrets/token", "web/./secrets/token",
		"web/secrets/", "web/secrets/./token/", "web/private/state", "web/local/../secrets/token",
		"alloc/data/tok", "alloc/data/sdir/token", "alloc/data/webdir/secrets/token",
		"side/local/state", "alloc/logs/side.stdout.9", "web%2Fsecrets%2Ftoken",
	}
	for _, p := range paths {
		for _, op := range []string{"cat", "stream", "stat", "ls", "readat"} {
			q := url.Values{"path": {p}, "offset": {"0"}, "limit": {"100"}, "follow": {"false"}}
			code, body := quickGet(t, la.URL, "/v1/client/fs/"+op+"/"+al.ID, q)
			if strings.Contains(body, "TOPSECRET") || strings.Contains(body, "VE9QU0VDUkVU") || (code < 400 && op != "ls") {
				t.Errorf("%s %s: %d %q", op, p, code, body)
			}
		}
	}
	for _, task := range []string{"side", "web/secrets/token", "../web/secrets", "web/../web"} {
		code, body := quickGet(t, la.URL, "/v1/client/fs/logs/"+al.ID,
			url.Values{"task": {task}, "type": {"stdout"}, "plain": {"true"}, "follow": {"false"}})
		if strings.Contains(body, "TOPSECRET") {
			t.Errorf("logs task=%s: %d %q", task, code, body)
		}
	}
}
