package main

import (
	"bytes"
	"strings"
	"testing"
)

// A run with a pass, a skip and a failure prints what plain go test prints,
// the failed test's output, the counts and the skipped test with its reason.
func TestSummarize(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"start","Package":"github.com/roam-sh/roam/agent"}`,
		`{"Action":"run","Package":"github.com/roam-sh/roam/agent","Test":"TestOK"}`,
		`{"Action":"output","Package":"github.com/roam-sh/roam/agent","Test":"TestOK","Output":"=== RUN   TestOK\n"}`,
		`{"Action":"output","Package":"github.com/roam-sh/roam/agent","Test":"TestOK","Output":"    a_test.go:3: noise from a passing test\n"}`,
		`{"Action":"pass","Package":"github.com/roam-sh/roam/agent","Test":"TestOK"}`,
		`{"Action":"output","Package":"github.com/roam-sh/roam/agent","Test":"TestDocker","Output":"=== RUN   TestDocker\n"}`,
		`{"Action":"output","Package":"github.com/roam-sh/roam/agent","Test":"TestDocker","Output":"    docker_test.go:9: no Docker Engine answers\n"}`,
		`{"Action":"output","Package":"github.com/roam-sh/roam/agent","Test":"TestDocker","Output":"--- SKIP: TestDocker (0.00s)\n"}`,
		`{"Action":"skip","Package":"github.com/roam-sh/roam/agent","Test":"TestDocker"}`,
		`{"Action":"output","Package":"github.com/roam-sh/roam/agent","Test":"TestBad","Output":"    bad_test.go:5: want 1, got 2\n"}`,
		`{"Action":"fail","Package":"github.com/roam-sh/roam/agent","Test":"TestBad"}`,
		`{"Action":"output","Package":"github.com/roam-sh/roam/agent","Output":"FAIL\tgithub.com/roam-sh/roam/agent\t1.0s\n"}`,
		`{"Action":"fail","Package":"github.com/roam-sh/roam/agent"}`,
	}, "\n")
	var out bytes.Buffer
	s, err := summarize(strings.NewReader(in), &out)
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"want 1, got 2", "FAIL\tgithub.com/roam-sh/roam/agent",
		"1 passed, 1 failed, 1 skipped\n", "skipped: agent.TestDocker (no Docker Engine answers)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "noise from a passing test") {
		t.Errorf("a passing test's output is shown:\n%s", got)
	}
	if s.pkgFailed != 1 || s.failed != 1 {
		t.Errorf("failures counted %+v", s)
	}
}
