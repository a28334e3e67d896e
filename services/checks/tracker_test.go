package checks

import (
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

const (
	P = structs.HealthPassing
	W = structs.HealthWarning
	C = structs.HealthCritical
)

func TestTrackerThresholds(t *testing.T) {
	cases := []struct {
		name    string
		def     structs.ServiceCheck
		results []structs.HealthStatus
		want    []structs.HealthStatus // reported status after each result
	}{
		{"no thresholds: each result counts at once", structs.ServiceCheck{},
			[]structs.HealthStatus{P, C, P, W, C}, []structs.HealthStatus{P, C, P, W, C}},
		{"initial_status passing until the first failure", structs.ServiceCheck{InitialStatus: "passing"},
			[]structs.HealthStatus{P, C}, []structs.HealthStatus{P, C}},
		{"success_before_passing 3", structs.ServiceCheck{SuccessBeforePassing: 3},
			[]structs.HealthStatus{P, P, C, P, P, P, P}, []structs.HealthStatus{C, C, C, C, C, P, P}},
		{"failures_before_critical 3", structs.ServiceCheck{InitialStatus: "passing", FailuresBeforeCritical: 3},
			[]structs.HealthStatus{C, C, P, C, C, C}, []structs.HealthStatus{P, P, P, P, P, C}},
		{"failures_before_warning 2 then critical at 4", structs.ServiceCheck{InitialStatus: "passing", FailuresBeforeWarning: 2, FailuresBeforeCritical: 4},
			[]structs.HealthStatus{C, C, C, C, P}, []structs.HealthStatus{P, W, W, C, P}},
		{"a warning result is not critical", structs.ServiceCheck{InitialStatus: "passing", FailuresBeforeCritical: 2},
			[]structs.HealthStatus{W, W, C}, []structs.HealthStatus{P, W, C}},
		{"both: flapping never passes", structs.ServiceCheck{SuccessBeforePassing: 2, FailuresBeforeCritical: 2},
			[]structs.HealthStatus{P, C, P, C, P, P}, []structs.HealthStatus{C, C, C, C, C, P}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(&Check{Def: &tc.def})
			for i, r := range tc.results {
				got, changed := tr.observe(r)
				if got != tc.want[i] {
					t.Fatalf("after result %d (%v): status %s, want %s", i, tc.results[:i+1], got, tc.want[i])
				}
				prev := tc.def.InitialStatus
				if i > 0 {
					prev = string(tc.want[i-1])
				} else if prev == "" {
					prev = string(C)
				}
				if changed != (string(got) != prev) {
					t.Fatalf("after result %d: changed=%v, status %s was %s", i, changed, got, prev)
				}
			}
		})
	}
}

func TestRestartWatch(t *testing.T) {
	t0 := time.Unix(1000, 0)
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	cases := []struct {
		name     string
		restart  structs.CheckRestart
		statuses []structs.HealthStatus
		want     []bool // restart after each status, one per second from t0+1s
	}{
		{"limit 1 restarts on the first unhealthy status", structs.CheckRestart{Limit: 1},
			[]structs.HealthStatus{P, C}, []bool{false, true}},
		{"limit 3 needs three in a row", structs.CheckRestart{Limit: 3},
			[]structs.HealthStatus{C, C, P, C, C, C}, []bool{false, false, false, false, false, true}},
		{"warnings count unless ignored", structs.CheckRestart{Limit: 2},
			[]structs.HealthStatus{W, W}, []bool{false, true}},
		{"ignore_warnings", structs.CheckRestart{Limit: 2, IgnoreWarnings: true},
			[]structs.HealthStatus{W, W, W, C, C}, []bool{false, false, false, false, true}},
		{"grace: nothing counts for its first 3s", structs.CheckRestart{Limit: 1, Grace: 3 * time.Second},
			[]structs.HealthStatus{C, C, C}, []bool{false, false, true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newRestartWatch(&Check{Def: &structs.ServiceCheck{}, Restart: &tc.restart}, t0)
			for i, s := range tc.statuses {
				if got := w.observe(sec(i+1), s); got != tc.want[i] {
					t.Fatalf("status %d (%s): restart=%v, want %v", i, s, got, tc.want[i])
				}
			}
		})
	}
	if newRestartWatch(&Check{Def: &structs.ServiceCheck{}, Restart: &structs.CheckRestart{}}, t0) != nil {
		t.Fatal("limit 0 must disable check_restart")
	}
	w := newRestartWatch(&Check{Def: &structs.ServiceCheck{}, Restart: &structs.CheckRestart{Limit: 1, Grace: 5 * time.Second}}, t0)
	w.restarted(sec(10))
	if w.observe(sec(12), C) {
		t.Fatal("restarted within grace of the last restart")
	}
	if !w.observe(sec(16), C) {
		t.Fatal("no restart after the grace period")
	}
}
