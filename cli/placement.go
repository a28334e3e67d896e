package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/roam-sh/roam/api"
)

// Placement-failure explanations, shared by the monitor, `job plan`,
// `job status` and `eval status`. The wording of each line is what Nomad
// users grep for; see the networking reference, §5.

// failedPlacements renders every group's failure block, groups in name
// order: headers prefixed by head, reasons by reason.
func failedPlacements(failed map[string]*api.AllocMetric, head, reason string) string {
	var b strings.Builder
	for _, tg := range sortedKeys(failed) {
		b.WriteString(groupFailure(tg, failed[tg], head, reason))
	}
	return b.String()
}

// groupFailure renders one group's block:
//
//	Task Group "web" (failed to place 1 allocation):
//	  * Constraint "missing network": 3 nodes excluded by filter
func groupFailure(tg string, m *api.AllocMetric, head, reason string) string {
	n := 1
	if m != nil {
		n += m.CoalescedFailures
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%sTask Group %q (failed to place %d allocation%s):\n", head, tg, n, plural(n))
	for _, line := range metricReasons(m) {
		fmt.Fprintf(&b, "%s* %s\n", reason, line)
	}
	return b.String()
}

// metricReasons explains why nodes were rejected, most general first:
// datacenters without nodes, nothing evaluated, filtered classes and
// constraints, then exhausted resources and dimensions.
func metricReasons(m *api.AllocMetric) []string {
	if m == nil {
		return nil
	}
	var out []string
	for _, dc := range sortedKeys(m.NodesAvailable) {
		if m.NodesAvailable[dc] == 0 {
			out = append(out, fmt.Sprintf("No nodes are available in datacenter %q", dc))
		}
	}
	if m.NodesEvaluated == 0 && len(out) == 0 {
		out = append(out, "No nodes were eligible for evaluation")
	}
	for _, c := range sortedKeys(m.ClassFiltered) {
		out = append(out, fmt.Sprintf("Class %q: %d nodes excluded by filter", c, m.ClassFiltered[c]))
	}
	for _, c := range sortedKeys(m.ConstraintFiltered) {
		out = append(out, fmt.Sprintf("Constraint %q: %d nodes excluded by filter", c, m.ConstraintFiltered[c]))
	}
	if m.NodesExhausted > 0 {
		out = append(out, fmt.Sprintf("Resources exhausted on %d nodes", m.NodesExhausted))
	}
	for _, c := range sortedKeys(m.ClassExhausted) {
		out = append(out, fmt.Sprintf("Class %q exhausted on %d nodes", c, m.ClassExhausted[c]))
	}
	for _, d := range sortedKeys(m.DimensionExhausted) {
		out = append(out, fmt.Sprintf("Dimension %q exhausted on %d nodes", d, m.DimensionExhausted[d]))
	}
	for _, q := range m.QuotaExhausted {
		out = append(out, fmt.Sprintf("Quota limit hit %q", q))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
