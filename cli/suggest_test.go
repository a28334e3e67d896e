package cli_test

import (
	"strings"
	"testing"
)

// TestUnknownCommandsAndFlagsFail: an unknown subcommand of a group, or an
// unknown flag, exits 1 with the closest name as a "did you mean"; a group
// alone still shows its help and succeeds.
func TestUnknownCommandsAndFlagsFail(t *testing.T) {
	cases := []struct {
		args    []string
		code    int
		want    []string
		without string
	}{
		{[]string{"job", "stauts"}, 1, []string{`unknown command "stauts" for "roam job"`, "Did you mean this?", "status"}, ""},
		{[]string{"jbo"}, 1, []string{`unknown command "jbo"`, "job"}, ""},
		{[]string{"node", "drian", "x"}, 1, []string{"Did you mean this?", "drain"}, ""},
		{[]string{"job", "status", "-jsno"}, 1, []string{"Did you mean this?", "-json"}, ""},
		{[]string{"job", "run", "--detatch", "x.nomad"}, 1, []string{"unknown flag", "-detach"}, ""},
		{[]string{"job", "status", "-zzzzzzzz"}, 1, []string{"unknown shorthand flag"}, "Did you mean"},
		{[]string{"job"}, 0, []string{"Usage:"}, "Error"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			r := runCLI(t, map[string]string{"ROAM_ADDR": "http://127.0.0.1:1"}, c.args...)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, c.code, r)
			}
			out := r.stdout + r.stderr
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q\n%s", w, r)
				}
			}
			if c.without != "" && strings.Contains(out, c.without) {
				t.Errorf("output has %q\n%s", c.without, r)
			}
		})
	}
}

// TestErrorsSayEachThingOnce: with no agent to answer, each command's
// error names the operation, the request and the cause once: no prefix
// twice (net/http's own "Get \"<url>\"" after roam's "GET /v1/...").
func TestErrorsSayEachThingOnce(t *testing.T) {
	for _, args := range [][]string{
		{"job", "status", "x"}, {"job", "status"}, {"alloc", "status", "abc"}, {"node", "status"},
		{"eval", "list"}, {"eval", "status", "abc"}, {"job", "stop", "x"}, {"namespace", "list"}, {"var", "get", "x"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runCLI(t, map[string]string{"ROAM_ADDR": "http://127.0.0.1:1"}, args...)
			if r.code != 1 {
				t.Fatalf("exit %d\n%s", r.code, r)
			}
			line, _, _ := strings.Cut(r.stderr, "\n")
			if strings.Contains(line, `Get "`) || strings.Count(line, "/v1/") != 1 {
				t.Errorf("the request is named more than once: %s", line)
			}
			seen := map[string]bool{}
			for _, part := range strings.Split(strings.TrimPrefix(line, "Error: "), ": ") {
				if seen[part] {
					t.Errorf("%q twice in: %s", part, line)
				}
				seen[part] = true
			}
			if !strings.Contains(line, "connection refused") {
				t.Errorf("the cause is missing: %s", line)
			}
		})
	}
}
