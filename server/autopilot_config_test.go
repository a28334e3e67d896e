package server

import (
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

// Autopilot runs with the defaults (this server's configured timings)
// until an operator sets a configuration, then with the one in the
// replicated state; a configuration it cannot honour is refused.
func TestAutopilotRunsWithTheStoredConfig(t *testing.T) {
	s := testServer(t)
	if c := s.autopilotConfig(); !c.CleanupDeadServers || c.LastContactThreshold != s.cfg.LastContactThreshold || c.MaxTrailingLogs != 250 {
		t.Fatalf("defaults: %+v", c)
	}
	want := structs.AutopilotConfig{LastContactThreshold: 10 * time.Millisecond, MaxTrailingLogs: 1, MinQuorum: 5, ServerStabilizationTime: time.Hour}
	var out structs.AutopilotSetConfigResponse
	must(t, s.RPC(structs.MethodOperatorAutopilotSetConfiguration, &structs.AutopilotSetConfigRequest{Config: want}, &out))
	if !out.Updated || out.Index == 0 {
		t.Fatalf("set: %+v", out)
	}
	c := s.autopilotConfig()
	if c.CleanupDeadServers || c.LastContactThreshold != want.LastContactThreshold || c.MaxTrailingLogs != 1 || c.MinQuorum != 5 || c.ServerStabilizationTime != time.Hour {
		t.Fatalf("autopilot runs with %+v, want %+v", c, want)
	}
	bad := want
	bad.EnableCustomUpgrades = true
	if err := s.RPC(structs.MethodOperatorAutopilotSetConfiguration, &structs.AutopilotSetConfigRequest{Config: bad}, &out); err == nil {
		t.Fatal("an Enterprise feature was accepted")
	}
}
