package checks

import (
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

const (
	P = StatusPassing
	W = StatusWarning
	C = StatusCritical
)

func TestTrackerThresholds(t *testing.T) {
	cases := []struct {
		name    string
		def     structs.ServiceCheck
		results []Status
		want    []Status // reported status after each result
	}{
		{"no thresholds: each result counts at once", structs.ServiceCheck{},
			[]Status{P, C, P, W, C}, []Status{P, C, P, W, C}},
		{"initial_status passing until the first failure", structs.ServiceCheck{InitialStatus: "passing"},
			[]Status{P, C}, []Status{P, C}},
		{"success_before_passing 3", structs.ServiceCheck{SuccessBeforePassing: 3},
			[]Status{P, P, C, P, P, P, P}, []Status{C, C, C, C, C, P, P}},
		{"failures_before_critical 3", structs.ServiceCheck{InitialStatus: "passing", FailuresBeforeCritical: 3},
			[]Status{C, C, P, C, C, C}, []Status{P, P, P, P, P, C}},
		{"failures_before_warning 2 then critical at 4", structs.ServiceCheck{InitialStatus: "passing", FailuresBeforeWarning: 2, FailuresBeforeCritical: 4},
			[]Status{C, C, C, C, P}, []Status{P, W, W, C, P}},
		{"a warning result is not critical", structs.ServiceCheck{InitialStatus: "passing", FailuresBeforeCritical: 2},
			[]Status{W, W, C}, []Status{P, W, C}},
		{"both: flapping never passes", structs.ServiceCheck{SuccessBeforePassing: 2, FailuresBeforeCritical: 2},
			[]Status{P, C, P, C, P, P}, []Status{C, C, C, C, C, P}},
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
		statuses []Status
		want     []bool // restart after each status, one per second from t0+1s
	}{
		{"limit 1 restarts on the first unhealthy status", structs.CheckRestart{Limit: 1},
			[]Status{P, C}, []bool{false, true}},
		{"limit 3 needs three in a row", structs.CheckRestart{Limit: 3},
			[]Status{C, C, P, C, C, C}, []bool{false, false, false, false, false, true}},
		{"warnings count unless ignored", structs.CheckRestart{Limit: 2},
			[]Status{W, W}, []bool{false, true}},
		{"ignore_warnings", structs.CheckRestart{Limit: 2, IgnoreWarnings: true},
			[]Status{W, W, W, C, C}, []bool{false, false, false, false, true}},
		{"grace: nothing counts for its first 3s", structs.CheckRestart{Limit: 1, Grace: 3 * time.Second},
			[]Status{C, C, C}, []bool{false, false, true}},
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
