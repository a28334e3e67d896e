package cli_test

import (
	"strings"
	"testing"
)

// TestUI: roam ui prints the UI's address on the agent the CLI talks to;
// without a display it opens nothing and only prints.
func TestUI(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"ui"}, "http://10.1.2.3:4646/ui/\n"},
		{[]string{"ui", "web api"}, "http://10.1.2.3:4646/ui/jobs/web%20api\n"},
		{[]string{"ui", "/clients"}, "http://10.1.2.3:4646/ui/clients\n"},
		{[]string{"-address", "http://127.0.0.1:9999", "ui"}, "http://127.0.0.1:9999/ui/\n"},
	}
	for _, c := range cases {
		r := runCLI(t, map[string]string{"NOMAD_ADDR": "http://10.1.2.3:4646"}, c.args...)
		if r.code != 0 || r.stdout != c.want {
			t.Errorf("roam %s: %s; want %q", strings.Join(c.args, " "), r, c.want)
		}
	}
}
