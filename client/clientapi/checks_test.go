package clientapi

import (
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/services/checks"
	"github.com/roam-sh/roam/structs"
)

// TestCheckStatusesAsNomad: the check states become Nomad's shape: a
// check not run yet is pending, a passing result success, anything else
// failure; on_update "ignore" is a readiness check; Health is the status
// after the thresholds.
func TestCheckStatusesAsNomad(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	check := func(id string, onUpdate structs.OnUpdate) *checks.Check {
		return &checks.Check{ID: id, Group: "g", Task: "srv", Service: "web",
			Def: &structs.ServiceCheck{Name: "c-" + id, OnUpdate: onUpdate}}
	}
	got := checkStatuses([]checks.State{
		{Check: check("a", ""), Status: structs.HealthCritical},
		{Check: check("b", structs.OnUpdateIgnore), Status: structs.HealthPassing,
			Last: checks.Result{Status: structs.HealthPassing, StatusCode: 200, Output: "ok", Time: at}},
		{Check: check("c", structs.OnUpdateRequireHealthy), Status: structs.HealthPassing,
			Last: checks.Result{Status: structs.HealthWarning, StatusCode: 429, Output: "slow down", Time: at}},
	})
	want := api.AllocCheckStatuses{
		"a": {ID: "a", Check: "c-a", Group: "g", Task: "srv", Service: "web", Mode: "healthiness", Status: "pending", Health: "critical"},
		"b": {ID: "b", Check: "c-b", Group: "g", Task: "srv", Service: "web", Mode: "readiness", Status: "success", StatusCode: 200, Output: "ok", Timestamp: at.Unix(), Health: "passing"},
		"c": {ID: "c", Check: "c-c", Group: "g", Task: "srv", Service: "web", Mode: "healthiness", Status: "failure", StatusCode: 429, Output: "slow down", Timestamp: at.Unix(), Health: "passing"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: got %+v\nwant %+v", id, got[id], w)
		}
	}
}
