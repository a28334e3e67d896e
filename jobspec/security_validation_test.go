package jobspec

import (
	"os"
	"strings"
	"testing"
)

// TestSecurityValidationJobFilePositions: bad cron specs and negative
// durations in a job file are refused at parse, each with file:line:column
// (the golden files err_security_*.hcl hold the full expected output).
func TestSecurityValidationJobFilePositions(t *testing.T) {
	for file, want := range map[string][]string{
		"testdata/err_security_cron.hcl": {`err_security_cron.hcl:6:12: Invalid cron spec`},
		"testdata/err_security_crons_durations.hcl": {
			`:7:13: Invalid cron spec: "crons": cron spec "0 0 30 2 *" never fires`,
			`:11:36: Invalid duration: "max_client_disconnect" must not be negative`,
			`:12:36: Invalid duration: "stop_after_client_disconnect" must not be negative`,
			`:15:30: Invalid duration: "lost_after" must not be negative`,
			`:16:30: Invalid duration: "stop_on_client_after" must not be negative`,
		},
	} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse(strings.TrimPrefix(file, "testdata/"), src, ParseOptions{})
		if err == nil {
			t.Fatalf("%s parsed", file)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", file, err, w)
			}
		}
	}
}
