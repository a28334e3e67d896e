package state

import (
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

// The autopilot configuration is a singleton: a check-and-set wins only
// on the current ModifyIndex, and the configuration survives a snapshot
// (a follower restored from one, or a restored cluster, runs autopilot
// with it).
func TestAutopilotConfigCASAndSnapshot(t *testing.T) {
	s := newStore(t)
	if c, _, err := s.AutopilotConfig(nil); err != nil || c != nil {
		t.Fatalf("empty store: %+v, %v", c, err)
	}
	c := structs.DefaultAutopilotConfig()
	c.MinQuorum = 3
	if ok, err := s.SetAutopilotConfig(10, c, true); err != nil || !ok {
		t.Fatalf("CAS on an empty table with index 0: %v, %v", ok, err)
	}
	c.ModifyIndex = 9
	if ok, _ := s.SetAutopilotConfig(11, c, true); ok {
		t.Fatal("CAS with a stale index won")
	}
	c.ModifyIndex, c.ServerStabilizationTime = 10, time.Minute
	if ok, _ := s.SetAutopilotConfig(12, c, true); !ok {
		t.Fatal("CAS with the current index lost")
	}
	got, idx, _ := restored(t, s).AutopilotConfig(nil)
	if got == nil || idx != 12 || got.CreateIndex != 10 || got.ModifyIndex != 12 || got.MinQuorum != 3 || got.ServerStabilizationTime != time.Minute {
		t.Fatalf("after a snapshot: %+v at %d", got, idx)
	}
}
