package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/jobspec"
	"github.com/roam-sh/roam/jobspec/sandbox"
	"github.com/roam-sh/roam/jobspec/sandbox/sandboxtest"
)

func TestMain(m *testing.M) {
	sandboxtest.MaybeRun()
	os.Exit(m.Run())
}

func runner(l sandbox.Limits) sandbox.Runner {
	return sandbox.Runner{Binary: sandboxtest.Binary(), Limits: l}
}

// smallLimits keep the hostile cases quick: far above the valid job below.
func smallLimits() sandbox.Limits {
	return sandbox.Limits{Timeout: 20 * time.Second, CPU: 5 * time.Second, Memory: 256 << 20, Output: 4 << 20}
}

const validJob = `
locals { n = 3 }
job "web" {
  group "g" {
    count = local.n
    task "t" {
      driver = "exec"
      config { command = "/bin/true" }
    }
  }
}
`

func TestSecurityBoundsParseValidJobInChild(t *testing.T) {
	job, err := runner(smallLimits()).Parse(context.Background(), "web.hcl", []byte(validJob), jobspec.ParseOptions{})
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	if job.ID != "web" || len(job.TaskGroups) != 1 || job.TaskGroups[0].Count != 3 {
		t.Fatalf("job = %+v", job)
	}
}

func TestSecurityBoundsParseDiagnosticsCrossTheProcess(t *testing.T) {
	_, err := runner(smallLimits()).Parse(context.Background(), "bad.hcl", []byte("job \"x\" {\n  nope = 1\n}\n"), jobspec.ParseOptions{})
	var perr *jobspec.Error
	if !errors.As(err, &perr) || !strings.Contains(err.Error(), "bad.hcl:2:") {
		t.Fatalf("Parse = %v, want a *jobspec.Error at bad.hcl:2", err)
	}
}

// hostile wraps an expression in a job so that evaluating it is the cost.
func hostile(locals string) string {
	return fmt.Sprintf("locals {\n%s\n}\njob \"x\" {\n  meta { v = jsonencode(local.v) }\n  group \"g\" {\n    task \"t\" {\n      driver = \"exec\"\n    }\n  }\n}\n", locals)
}

// Each case fails with a *LimitError; before the sandbox, the same input
// ran in the caller's process until it exhausted its memory or time.
func TestSecurityBoundsParseHostileJobFiles(t *testing.T) {
	cases := map[string]string{
		"nested for expressions": `
  a = range(1000)
  v = [for x in local.a : [for y in local.a : [for z in local.a : x + y + z]]]`,
		"string doubled to gigabytes": `
  a = join("", [for i in range(1024) : "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"])
  b = join("", [for i in range(1024) : local.a])
  v = join("", [for i in range(64) : local.b])`,
		"regex over a huge string": `
  a = join("", [for i in range(1024) : "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"])
  b = join("", [for i in range(1024) : local.a])
  v = [for i in range(1024) : regexall("(x+x+)+y", local.b)]`,
	}
	for name, locals := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := runner(smallLimits()).Parse(context.Background(), "x.hcl", []byte(hostile(locals)), jobspec.ParseOptions{})
			var lerr *sandbox.LimitError
			if !errors.As(err, &lerr) {
				t.Fatalf("Parse = %v, want a *sandbox.LimitError", err)
			}
			if !strings.HasPrefix(err.Error(), "job file too expensive to evaluate: ") {
				t.Fatalf("message = %q", err)
			}
		})
	}
}

// Deeply nested dynamic blocks expand to an output larger than the cap.
func TestSecurityBoundsParseOutputCapped(t *testing.T) {
	src := `locals { big = join("", [for i in range(1000) : "0123456789abcdef"]) }
job "x" {
  group "g" {
    task "t" {
      driver = "exec"
      dynamic "template" {
        for_each = range(1000)
        content {
          data        = local.big
          destination = "local/${template.value}"
        }
      }
    }
  }
}
`
	l := smallLimits()
	l.Memory = 1 << 30
	_, err := runner(l).Parse(context.Background(), "x.hcl", []byte(src), jobspec.ParseOptions{})
	var lerr *sandbox.LimitError
	if !errors.As(err, &lerr) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Parse = %v, want the output cap", err)
	}
}

func TestSecurityBoundsParseWallClock(t *testing.T) {
	l := smallLimits()
	l.Timeout = 500 * time.Millisecond
	l.CPU = time.Minute
	src := hostile(nestedFor)
	_, err := runner(l).Parse(context.Background(), "x.hcl", []byte(src), jobspec.ParseOptions{})
	var lerr *sandbox.LimitError
	if !errors.As(err, &lerr) {
		t.Fatalf("Parse = %v, want a *LimitError", err)
	}
}

// A caller that goes away (an HTTP client hanging up) ends the child.
func TestSecurityBoundsParseStopsWithCaller(t *testing.T) {
	l := smallLimits()
	l.Timeout = time.Minute
	l.CPU = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := runner(l).Parse(ctx, "x.hcl", []byte(hostile(nestedFor)), jobspec.ParseOptions{})
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Parse = %v, want context.Canceled", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Parse did not return after its context was canceled")
	}
}

const nestedFor = `
  a = range(1000)
  v = [for x in local.a : [for y in local.a : [for z in local.a : x + y + z]]]`

// Locals that refer to each other are refused, not evaluated forever.
func TestSecurityBoundsParseLocalsCycle(t *testing.T) {
	src := hostile("a = local.b\n  b = local.a\n  v = local.a")
	_, err := runner(smallLimits()).Parse(context.Background(), "x.hcl", []byte(src), jobspec.ParseOptions{})
	if err == nil {
		t.Fatal("Parse of a locals cycle succeeded")
	}
}
