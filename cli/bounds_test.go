package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/cli"
	"github.com/roam-sh/roam/jobspec/sandbox"
	"github.com/roam-sh/roam/jobspec/sandbox/sandboxtest"
)

// The CLI evaluates job files through its JobParser, as cmd/roam wires the
// sandbox: a file too expensive to evaluate fails the command with the
// limit named, and a valid one still validates locally. Before, the CLI
// parsed in its own process, without bound.
func TestSecurityBoundsCLIJobFileInSandbox(t *testing.T) {
	parser := sandbox.Runner{Binary: sandboxtest.Binary(), Limits: sandbox.Limits{CPU: 2 * time.Second, Memory: 256 << 20}}
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		opts := cli.Options{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
			Getenv: func(string) string { return "" }, Environ: func() []string { return nil }, JobParser: parser}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		code := cli.Run(ctx, cli.NewRootCommand(opts), args)
		return code, out.String() + errb.String()
	}
	hostile := writeJob(t, "hostile.hcl", "locals {\n  a = range(1000)\n  v = [for x in local.a : [for y in local.a : [for z in local.a : x + y + z]]]\n}\n"+
		"job \"x\" {\n  meta { v = jsonencode(local.v) }\n  group \"g\" {\n    task \"t\" {\n      driver = \"exec\"\n    }\n  }\n}\n")
	code, out := run("job", "run", "-output", hostile)
	if code != 1 || !strings.Contains(out, "job file too expensive to evaluate") {
		t.Fatalf("exit %d: %s", code, out)
	}
	ok := writeJob(t, "ok.hcl", jobHCL("ok", 1, ""))
	if code, out := run("job", "run", "-output", ok); code != 0 || !strings.Contains(out, `"ID": "ok"`) {
		t.Fatalf("valid job: exit %d: %s", code, out)
	}
}
