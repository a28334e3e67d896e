package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/cli"
	"github.com/roam-sh/roam/internal/apitest"
)

// result is one CLI invocation's outcome.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return "exit " + itoa(r.code) + "\n--- stdout:\n" + r.stdout + "--- stderr:\n" + r.stderr
}

func itoa(n int) string { return strconv.Itoa(n) }

// runCLI runs roam in-process with env as its whole environment.
func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	opts := cli.Options{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
		Environ: func() []string {
			var e []string
			for k, v := range env {
				e = append(e, k+"="+v)
			}
			return e
		},
		PollInterval: 500 * time.Millisecond,
	}
	ctx, cancel := context.WithTimeout(context.Background(), apitest.Wait)
	defer cancel()
	code := cli.Run(ctx, cli.NewRootCommand(opts), args)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// roam runs the CLI against the cluster (through ROAM_ADDR).
func roam(t *testing.T, c *apitest.Cluster, args ...string) result {
	t.Helper()
	return runCLI(t, map[string]string{"ROAM_ADDR": c.URL}, args...)
}

// mustRoam is roam that fails the test unless the exit code is want.
func mustRoam(t *testing.T, c *apitest.Cluster, want int, args ...string) result {
	t.Helper()
	r := roam(t, c, args...)
	if r.code != want {
		t.Fatalf("roam %s: %s\nwant exit %d", strings.Join(args, " "), r, want)
	}
	return r
}

// writeJob writes a job file into a temp dir and returns its path.
func writeJob(t *testing.T, name, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// jobHCL is a service job of count raw_exec tasks; extra is added to the
// group body (constraints, ...).
func jobHCL(id string, count int, extra string) string {
	return `job "` + id + `" {
  datacenters = ["dc1"]
  group "web" {
    count = ` + itoa(count) + `
    ` + extra + `
    task "server" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["600"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`
}

func assertContains(t *testing.T, r result, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("output lacks %q:\n%s", s, r)
		}
	}
}

// assertJSON checks that stdout is JSON of the given kind ('[' or '{').
func assertJSON(t *testing.T, r result, kind byte) {
	t.Helper()
	if !json.Valid([]byte(r.stdout)) {
		t.Fatalf("stdout is not JSON:\n%s", r)
	}
	if s := strings.TrimSpace(r.stdout); s == "" || s[0] != kind {
		t.Errorf("stdout JSON starts with %.1q, want %q", s, kind)
	}
}
