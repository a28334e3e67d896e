package services

import (
	"errors"
	"fmt"
	"testing"

	"github.com/roam-sh/roam/structs"
)

func TestRoutable(t *testing.T) {
	for _, tc := range []struct {
		health          structs.HealthStatus
		routable, passw bool
	}{
		{"", true, true}, // no health recorded (a Nomad client): passing
		{structs.HealthPassing, true, true},
		{structs.HealthWarning, true, false}, // served, as Consul's DNS
		{structs.HealthCritical, false, false},
	} {
		r := &structs.ServiceRegistration{Health: tc.health}
		if got := Routable(r); got != tc.routable {
			t.Errorf("Routable(%q) = %v, want %v", tc.health, got, tc.routable)
		}
		if got := Passing(r); got != tc.passw {
			t.Errorf("Passing(%q) = %v, want %v", tc.health, got, tc.passw)
		}
	}
}

func TestRoutablesKeepsOrder(t *testing.T) {
	regs := []*structs.ServiceRegistration{
		{ID: "a", Health: structs.HealthCritical}, {ID: "b"}, {ID: "c", Health: structs.HealthWarning}, {ID: "d", Health: structs.HealthCritical},
	}
	got := Routables(regs)
	if len(got) != 2 || got[0].ID != "b" || got[1].ID != "c" {
		t.Fatalf("Routables = %v, want b, c", ids(got))
	}
}

func TestParseChoose(t *testing.T) {
	for _, tc := range []struct {
		in  string
		n   int
		key string
		ok  bool
	}{
		{"2|abc", 2, "abc", true},
		{"1|a|b", 1, "a|b", true},
		{"0|abc", 0, "", false},
		{"-1|abc", 0, "", false},
		{"x|abc", 0, "", false},
		{"2|", 0, "", false},
		{"2", 0, "", false},
		{"", 0, "", false},
	} {
		n, key, err := ParseChoose(tc.in)
		if tc.ok != (err == nil) || n != tc.n || key != tc.key {
			t.Errorf("ParseChoose(%q) = %d, %q, %v", tc.in, n, key, err)
		}
		if err != nil && !errors.Is(err, ErrMalformedChoose) {
			t.Errorf("ParseChoose(%q) error %v is not ErrMalformedChoose", tc.in, err)
		}
	}
}

func instances(n int) []*structs.ServiceRegistration {
	out := make([]*structs.ServiceRegistration, n)
	for i := range out {
		out[i] = &structs.ServiceRegistration{ID: fmt.Sprintf("inst-%d", i)}
	}
	return out
}

func ids(regs []*structs.ServiceRegistration) []string {
	out := make([]string, len(regs))
	for i, r := range regs {
		out[i] = r.ID
	}
	return out
}

func TestChooseIsStableAndMinimalOnChange(t *testing.T) {
	regs := instances(10)
	first := Choose(regs, 3, "alloc-1")
	if len(first) != 3 {
		t.Fatalf("Choose returned %d, want 3", len(first))
	}
	// The input order does not matter.
	rev := make([]*structs.ServiceRegistration, len(regs))
	for i, r := range regs {
		rev[len(regs)-1-i] = r
	}
	if a, b := fmt.Sprint(ids(first)), fmt.Sprint(ids(Choose(rev, 3, "alloc-1"))); a != b {
		t.Fatalf("order changed the pick: %s vs %s", a, b)
	}
	// Removing an instance that was not chosen changes nothing.
	var rest []*structs.ServiceRegistration
	chosen := map[string]bool{}
	for _, r := range first {
		chosen[r.ID] = true
	}
	dropped := false
	for _, r := range regs {
		if !chosen[r.ID] && !dropped {
			dropped = true
			continue
		}
		rest = append(rest, r)
	}
	if a, b := fmt.Sprint(ids(first)), fmt.Sprint(ids(Choose(rest, 3, "alloc-1"))); a != b {
		t.Fatalf("dropping an unchosen instance changed the pick: %s vs %s", a, b)
	}
	// Removing the best one keeps the other two.
	var noBest []*structs.ServiceRegistration
	for _, r := range regs {
		if r.ID != first[0].ID {
			noBest = append(noBest, r)
		}
	}
	again := Choose(noBest, 3, "alloc-1")
	if again[0].ID != first[1].ID || again[1].ID != first[2].ID {
		t.Fatalf("after the best left: %v, want %v first", ids(again), ids(first[1:]))
	}
}

func TestChooseSpreadsKeys(t *testing.T) {
	regs := instances(5)
	seen := map[string]int{}
	for i := 0; i < 500; i++ {
		seen[Choose(regs, 1, fmt.Sprintf("alloc-%d", i))[0].ID]++
	}
	if len(seen) != 5 {
		t.Fatalf("500 keys picked only %d of 5 instances: %v", len(seen), seen)
	}
	for id, n := range seen {
		if n < 50 {
			t.Errorf("instance %s picked by %d of 500 keys; want a fair share", id, n)
		}
	}
}

func TestChooseMoreThanThere(t *testing.T) {
	if got := Choose(instances(2), 5, "k"); len(got) != 2 {
		t.Fatalf("Choose(2 instances, 5) = %d", len(got))
	}
	if got := Choose(nil, 1, "k"); len(got) != 0 {
		t.Fatalf("Choose(none) = %d", len(got))
	}
}
