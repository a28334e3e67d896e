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
