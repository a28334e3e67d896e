package ui_test

import (
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/agent"
	"github.com/roam-sh/roam/internal/apitest"
)

// TestAllocationPager: a job with more allocations than a page shows the
// first page and the count of all, the next page shows the rest (none of
// the first page's), the filter finds an allocation of the second page
// from the first, and the page with its pager passes axe-core.
func TestAllocationPager(t *testing.T) {
	chromiumPath(t)
	la := apitest.StartLiveAgent(t, func(c *agent.Config) { c.Server.HeartbeatGrace = time.Hour })
	simulatedJob(t, la, "many", 60)
	b := newBrowser(t, la.URL, 1280, 900)
	b.open("/ui/jobs/many")
	const rows = `[...document.querySelectorAll('section[aria-labelledby="sec-allocations"] tbody tr th a')].map((a) => a.textContent)`
	b.waitText(".pager-count", "1–50 of 60")
	first, err := eval[[]string](b, rows)
	if err != nil || len(first) != 50 {
		t.Fatalf("first page: %d rows (%v), want 50", len(first), err)
	}
	if v := b.axe(); len(v) > 0 {
		t.Errorf("job page with a pager: %s", strings.Join(v, "\n"))
	}
	b.click(`button[aria-label="Next page of allocations"]`)
	b.waitText(".pager-count", "51–60 of 60")
	second, err := eval[[]string](b, rows)
	if err != nil || len(second) != 10 {
		t.Fatalf("second page: %d rows (%v), want 10", len(second), err)
	}
	seen := map[string]bool{}
	for _, id := range first {
		seen[id] = true
	}
	for _, id := range second {
		if seen[id] {
			t.Errorf("allocation %s is on both pages", id)
		}
	}
	b.click(`button[aria-label="Previous page of allocations"]`)
	b.waitText(".pager-count", "1–50 of 60")
	// From the first page, the filter finds an allocation on the second.
	b.setValue("#filter-allocations", second[3])
	b.waitText(".pager-count", "1–1 of 1 (filtered from 60)")
	if got, err := eval[[]string](b, rows); err != nil || len(got) != 1 || got[0] != second[3] {
		t.Errorf("filtered by %s: rows %v (%v)", second[3], got, err)
	}
	b.setValue("#filter-allocations", "no such allocation")
	b.waitText("main", "No allocations match the filter.", "0 of 60")
	b.check()
}
