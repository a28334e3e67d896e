package telemetry

import (
	"fmt"
	"math"
	"testing"
)

func TestRegistryAggregates(t *testing.T) {
	r := New()
	for _, v := range []float64{2, 4, 4, 4, 5, 5, 7, 9} {
		r.Observe("nomad.raft.commitTime", v)
	}
	r.Incr("nomad.raft.apply", 1)
	r.Incr("nomad.raft.apply", 1)
	r.Incr("nomad.nomad.plan.node_rejected", 1, Label{"node_id", "n1"})
	counters, samples := r.Snapshot()
	if len(counters) != 2 || counters[1].Name != "nomad.raft.apply" || counters[1].Count != 2 || counters[1].Sum != 2 ||
		counters[0].Labels["node_id"] != "n1" {
		t.Fatalf("counters %+v", counters)
	}
	s := samples[0]
	if s.Count != 8 || s.Sum != 40 || s.Min != 2 || s.Max != 9 || s.Mean != 5 || math.Abs(s.Stddev-2) > 1e-9 || s.Rate <= 0 {
		t.Fatalf("sample %+v", s)
	}
}

func TestRegistryBoundsAndNil(t *testing.T) {
	var none *Registry
	none.Incr("x", 1)
	none.Observe("x", 1)
	if c, s := none.Snapshot(); c != nil || s != nil {
		t.Fatal("a nil registry recorded something")
	}
	r := New()
	for i := range MaxSeries + 10 {
		r.Incr("c", 1, Label{"n", fmt.Sprint(i)})
	}
	r.Observe("late", 1)
	if c, s := r.Snapshot(); len(c) != MaxSeries || len(s) != 0 {
		t.Fatalf("kept %d counters and %d samples, want at most %d series", len(c), len(s), MaxSeries)
	}
}
