package httpapi_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/roam-sh/roam/internal/apitest"
)

// racingWrites sends the requests at once, released together, and returns
// each one's status code in order.
func racingWrites(t *testing.T, c *apitest.Cluster, method string, paths []string) []int {
	t.Helper()
	codes := make([]int, len(paths))
	bodies := make([]string, len(paths))
	var start, done sync.WaitGroup
	start.Add(1)
	for i, p := range paths {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			req, err := http.NewRequest(method, c.URL+p, nil)
			if err != nil {
				codes[i] = -1
				return
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes[i], bodies[i] = -1, err.Error()
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	start.Done()
	done.Wait()
	for i, code := range codes {
		if code == -1 {
			t.Fatalf("%s %s: %s", method, paths[i], bodies[i])
		}
	}
	return codes
}

// TestSecurityLimitsPurgeRace: N purges of one job racing each other give
// exactly one 200 and 404s, never a 500; the loser's write changes nothing.
func TestSecurityLimitsPurgeRace(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	const racers = 8
	for round := range 5 {
		id := fmt.Sprintf("purge-race-%d", round)
		register(t, c, apitest.Job(id, 1))
		paths := make([]string, racers)
		for i := range paths {
			paths[i] = "/v1/job/" + id + "?purge=true"
		}
		count := map[int]int{}
		for _, code := range racingWrites(t, c, http.MethodDelete, paths) {
			count[code]++
		}
		if count[http.StatusOK] != 1 || count[http.StatusNotFound] != racers-1 {
			t.Fatalf("round %d: statuses %v, want one 200 and %d 404", round, count, racers-1)
		}
		mustCall(t, c, http.StatusNotFound, http.MethodGet, "/v1/job/"+id, nil)
	}
}

// TestSecurityLimitsStopPurgeRace: stops racing purges of one job never give
// a 500; a stop that loses to a purge is a 404, not a 200 that evaluates a
// job that is gone.
func TestSecurityLimitsStopPurgeRace(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	for round := range 5 {
		id := fmt.Sprintf("stop-purge-race-%d", round)
		register(t, c, apitest.Job(id, 1))
		var paths []string
		for i := range 8 {
			p := "/v1/job/" + id
			if i%2 == 0 {
				p += "?purge=true"
			}
			paths = append(paths, p)
		}
		codes := racingWrites(t, c, http.MethodDelete, paths)
		purged := 0
		for i, code := range codes {
			switch {
			case code != http.StatusOK && code != http.StatusNotFound:
				t.Fatalf("round %d: %s gave %d (all: %v)", round, paths[i], code, codes)
			case code == http.StatusOK && i%2 == 0:
				purged++
			}
		}
		if purged != 1 {
			t.Fatalf("round %d: %d purges succeeded, want 1 (%v)", round, purged, codes)
		}
		mustCall(t, c, http.StatusNotFound, http.MethodGet, "/v1/job/"+id, nil)
	}
}
