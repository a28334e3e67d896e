package cli_test

import (
	"strings"
	"testing"

	"github.com/roam-sh/roam/internal/apitest"
)

// get-config shows the defaults; set-config changes only the flags given,
// and the server's refusal of a bad value reaches the operator.
func TestOperatorAutopilotGetSetConfig(t *testing.T) {
	c := apitest.Start(t)
	r := mustRoam(t, c, 0, "operator", "autopilot", "get-config")
	for _, want := range []string{"CleanupDeadServers = true", "LastContactThreshold = 200ms", "MaxTrailingLogs = 250", "ServerStabilizationTime = 10s"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("get-config lacks %q:\n%s", want, r)
		}
	}
	mustRoam(t, c, 0, "operator", "autopilot", "set-config", "-cleanup-dead-servers=false", "-max-trailing-logs", "500")
	r = mustRoam(t, c, 0, "operator", "autopilot", "get-config")
	for _, want := range []string{"CleanupDeadServers = false", "MaxTrailingLogs = 500", "LastContactThreshold = 200ms"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("after set-config, get-config lacks %q:\n%s", want, r)
		}
	}
	r = mustRoam(t, c, 1, "operator", "autopilot", "set-config", "-last-contact-threshold", "0s")
	if !strings.Contains(r.stderr, "LastContactThreshold 0s") {
		t.Fatalf("a zero threshold must be refused with the reason:\n%s", r)
	}
}
