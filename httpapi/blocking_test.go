package httpapi_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/roam-sh/roam/internal/apitest"
)

func index(t *testing.T, r *response) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(r.header.Get("X-Nomad-Index"), 10, 64)
	if err != nil {
		t.Fatalf("X-Nomad-Index %q: %v", r.header.Get("X-Nomad-Index"), err)
	}
	return n
}

func TestBlockingQueryReturnsOnChange(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	start := index(t, mustCall(t, c, 200, "GET", "/v1/jobs", nil))

	done := make(chan *response, 1)
	go func() {
		done <- call(t, c, "GET", fmt.Sprintf("/v1/jobs?index=%d&wait=30s", start), nil)
	}()
	select {
	case r := <-done:
		t.Fatalf("blocking query returned before any change: %d %s", r.code, r.text())
	case <-time.After(200 * time.Millisecond):
	}
	register(t, c, apitest.Job("web", 1))
	select {
	case r := <-done:
		if r.code != 200 || index(t, r) <= start {
			t.Errorf("blocking query: status %d index %d, want 200 and > %d", r.code, index(t, r), start)
		}
		if got := decode[[]map[string]any](t, r); len(got) != 1 {
			t.Errorf("blocking query saw %d jobs, want 1", len(got))
		}
	case <-time.After(apitest.Wait):
		t.Fatal("blocking query did not return after a change")
	}
}

func TestBlockingQueryTimesOut(t *testing.T) {
	c := apitest.Start(t)
	node := c.RegisterNode(t)
	path := "/v1/node/" + node.ID
	cur := index(t, mustCall(t, c, 200, "GET", path, nil))
	began := time.Now()
	r := mustCall(t, c, 200, "GET", fmt.Sprintf("%s?index=%d&wait=300ms", path, cur), nil)
	if took := time.Since(began); took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("blocking query with wait=300ms took %v", took)
	}
	if got := index(t, r); got != cur {
		t.Errorf("index after timeout %d, want unchanged %d", got, cur)
	}
	assertMetaHeaders(t, r)
}
