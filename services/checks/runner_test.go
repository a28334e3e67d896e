package checks_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/services/checks"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// recorder keeps the changes a runner reports.
type recorder struct {
	mu      sync.Mutex
	changes []structs.HealthStatus
}

func (r *recorder) add(c checks.Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c.Status)
}

func (r *recorder) seen() []structs.HealthStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes)
}

func (r *recorder) waitFor(t *testing.T, want ...structs.HealthStatus) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, func() error {
		if got := r.seen(); !slices.Equal(got, want) {
			return fmt.Errorf("changes %v, want %v", got, want)
		}
		return nil
	})
}

// results counts the probes the app answered, to wait for more of them.
func (a *app) waitRequests(t *testing.T, r *checks.Runner, n int) {
	t.Helper()
	start := r.States()[0].Last.Time
	seen := 0
	testutil.WaitFor(t, 10*time.Second, func() error {
		if last := r.States()[0].Last.Time; last.After(start) {
			start = last
			seen++
		}
		if seen < n {
			return fmt.Errorf("%d results, want %d", seen, n)
		}
		return nil
	})
}

func TestRunnerReportsChangesNotResults(t *testing.T) {
	ns := namespace(t)
	a := startApp(t, ns, false)
	var rec recorder
	r := checks.NewRunner(testutil.Context(t), checks.Config{Logger: testutil.Logger(t), OnChange: rec.add})
	t.Cleanup(r.Stop)
	def := &structs.ServiceCheck{Name: "alive", Type: structs.CheckTypeHTTP, Path: "/", Interval: 30 * time.Millisecond, Timeout: 5 * time.Second}
	r.Set([]*checks.Check{{ID: "c1", Def: def, Address: a.addr, Dial: netns.Dialer(ns, nil)}})

	rec.waitFor(t, structs.HealthCritical, structs.HealthPassing) // the start, then the first result
	a.waitRequests(t, r, 5)
	rec.waitFor(t, structs.HealthCritical, structs.HealthPassing) // five more passing results, no change
	a.code.Store(500)
	rec.waitFor(t, structs.HealthCritical, structs.HealthPassing, structs.HealthCritical)
	a.waitRequests(t, r, 3)
	a.code.Store(200)
	rec.waitFor(t, structs.HealthCritical, structs.HealthPassing, structs.HealthCritical, structs.HealthPassing)
	if st := r.States(); len(st) != 1 || st[0].Status != structs.HealthPassing || st[0].Last.StatusCode != 200 {
		t.Fatalf("state %+v", st)
	}
	r.Stop()
	if len(r.States()) != 0 {
		t.Fatal("checks still listed after Stop")
	}
}

func TestRunnerCountsThresholds(t *testing.T) {
	ns := namespace(t)
	// The app answers a fixed sequence, then 200 for good.
	answers := []int{500, 500, 500, 200, 500, 200, 200}
	var served atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(served.Add(1))
		code := 200
		if n <= len(answers) {
			code = answers[n-1]
		}
		w.WriteHeader(code)
	}))
	srv.Listener.Close()
	srv.Listener = listen(t, ns)
	srv.Start()
	t.Cleanup(srv.Close)

	// A probe is synchronous: when a change is reported, the app has
	// served exactly the results it counted.
	var mu sync.Mutex
	var got []string
	onChange := func(c checks.Change) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, fmt.Sprintf("%s after %d", c.Status, served.Load()))
	}
	r := checks.NewRunner(testutil.Context(t), checks.Config{Logger: testutil.Logger(t), OnChange: onChange})
	t.Cleanup(r.Stop)
	def := &structs.ServiceCheck{Name: "t", Type: structs.CheckTypeHTTP, Path: "/", Interval: 10 * time.Millisecond, Timeout: 5 * time.Second,
		InitialStatus: "passing", SuccessBeforePassing: 2, FailuresBeforeWarning: 2, FailuresBeforeCritical: 3}
	r.Set([]*checks.Check{{ID: "c1", Def: def, Address: srv.Listener.Addr().String(), Dial: netns.Dialer(ns, nil)}})
	want := []string{"passing after 0", "warning after 2", "critical after 3", "passing after 7"}
	testutil.WaitFor(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(got, want) {
			return fmt.Errorf("changes %q, want %q", got, want)
		}
		return nil
	})
}

func TestRunnerCheckRestart(t *testing.T) {
	ns := namespace(t)
	a := startApp(t, ns, false)
	a.code.Store(500)
	restarts := make(chan string, 10)
	r := checks.NewRunner(testutil.Context(t), checks.Config{
		Logger: testutil.Logger(t),
		Restart: func(ctx context.Context, task, reason string) error {
			restarts <- task + ": " + reason
			a.code.Store(200) // the restarted app is healthy
			return nil
		},
	})
	t.Cleanup(r.Stop)
	def := &structs.ServiceCheck{Name: "alive", Type: structs.CheckTypeHTTP, Path: "/", Interval: 20 * time.Millisecond, Timeout: 5 * time.Second}
	r.Set([]*checks.Check{{ID: "c1", Task: "web", Service: "api", Def: def, Address: a.addr, Dial: netns.Dialer(ns, nil),
		Restart: &structs.CheckRestart{Limit: 3, Grace: 100 * time.Millisecond}}})
	select {
	case got := <-restarts:
		if got != `web: health check "alive" of service "api" unhealthy` {
			t.Fatalf("restart %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no restart")
	}
	a.waitRequests(t, r, 5)
	if len(restarts) != 0 {
		t.Fatalf("restarted again while passing: %q", <-restarts)
	}
}

func TestRunnerSetKeepsRunningChecks(t *testing.T) {
	ns := namespace(t)
	a := startApp(t, ns, false)
	var rec recorder
	r := checks.NewRunner(testutil.Context(t), checks.Config{Logger: testutil.Logger(t), OnChange: rec.add})
	t.Cleanup(r.Stop)
	def := &structs.ServiceCheck{Name: "a", Type: structs.CheckTypeHTTP, Path: "/", Interval: 20 * time.Millisecond, Timeout: 5 * time.Second}
	c1 := &checks.Check{ID: "c1", Def: def, Address: a.addr, Dial: netns.Dialer(ns, nil)}
	r.Set([]*checks.Check{c1})
	rec.waitFor(t, structs.HealthCritical, structs.HealthPassing)
	c2 := &checks.Check{ID: "c2", Def: def, Address: a.addr, Dial: netns.Dialer(ns, nil)}
	r.Set([]*checks.Check{c1, c2})
	rec.waitFor(t, structs.HealthCritical, structs.HealthPassing, structs.HealthCritical, structs.HealthPassing)
	r.Set([]*checks.Check{c2})
	if st := r.States(); len(st) != 1 || st[0].Check.ID != "c2" {
		t.Fatalf("after removing c1: %+v", st)
	}
	// c2 again with another address (its namespace made anew, say): it
	// restarts, from the status it had, and probes the new address.
	b := startApp(t, ns, false)
	b.code.Store(500)
	moved := &checks.Check{ID: "c2", Def: def, Address: b.addr, Dial: netns.Dialer(ns, nil)}
	r.Set([]*checks.Check{moved})
	rec.waitFor(t, structs.HealthCritical, structs.HealthPassing, structs.HealthCritical, structs.HealthPassing, structs.HealthPassing, structs.HealthCritical)
	if st := r.States(); st[0].Check != moved || st[0].Last.StatusCode != 500 {
		t.Fatalf("after the move: %+v", st[0])
	}
}
