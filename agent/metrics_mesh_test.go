package agent

import (
	"testing"

	"github.com/roam-sh/roam/mesh/proxy"
)

// A proxy's refusals for its inbound caps and its idle closes are
// gauges, labelled like its other counters.
func TestProxyGaugesInboundLimits(t *testing.T) {
	st := proxy.Stats{InboundRefused: 3, InboundIdleClosed: 2}
	got := map[string]float64{}
	for _, g := range proxyGauges(st, map[string]string{"node_id": "n"}, "api", "a1") {
		if g.Labels["service"] != "api" || g.Labels["alloc_id"] != "a1" {
			t.Errorf("%s labels %v", g.Name, g.Labels)
		}
		got[g.Name] = g.Value
	}
	for name, want := range map[string]float64{"roam.mesh.inbound.refused": 3, "roam.mesh.inbound.idle_closed": 2} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
}
