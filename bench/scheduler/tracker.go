package main

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/roam-sh/roam/structs"
)

// tracker records, per allocation, when it was placed (first seen by its
// node) and when it was running (its node's Node.UpdateAlloc committed), and
// per job when it was submitted and when its last allocation was placed.
type tracker struct {
	mu     sync.Mutex
	jobs   map[string]*jobTrack
	allocs map[string]*allocTrack
	want   int

	firstSubmit         time.Time
	placed, running     int
	lastPlaced, lastRun time.Time
	// foreign counts allocations of jobs the benchmark did not submit.
	foreign int
	// retries counts registrations sent again because the cluster had no
	// leader at the time.
	retries int
	// byVersion counts running allocations per job version, for the
	// roll-out phases (awaitVersion).
	byVersion map[uint64]int
	waiters   map[uint64]*versionWait

	allPlaced, allRunning chan struct{}
}

type jobTrack struct {
	want       int
	submitted  time.Time
	placed     int
	lastPlaced time.Time
}

type allocTrack struct {
	job     *jobTrack
	version uint64
	running bool
}

// versionWait is closed once want allocations of a version run.
type versionWait struct {
	want int
	ch   chan struct{}
}

// newTracker expects counts[i] allocations of job ids[i].
func newTracker(ids []string, counts []int) *tracker {
	t := &tracker{
		jobs: map[string]*jobTrack{}, allocs: map[string]*allocTrack{},
		byVersion: map[uint64]int{}, waiters: map[uint64]*versionWait{},
		allPlaced: make(chan struct{}), allRunning: make(chan struct{}),
	}
	for i, id := range ids {
		t.jobs[id] = &jobTrack{want: counts[i]}
		t.want += counts[i]
	}
	return t
}

// submitted records the moment a job's registration was sent.
func (t *tracker) submitted(jobID string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.firstSubmit.IsZero() || at.Before(t.firstSubmit) {
		t.firstSubmit = at
	}
	if j := t.jobs[jobID]; j != nil {
		j.submitted = at
	}
}

// placedAlloc records an allocation its node saw for the first time at at.
func (t *tracker) placedAlloc(a *structs.Allocation, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.allocs[a.ID]; ok {
		return
	}
	j := t.jobs[a.JobID]
	if j == nil {
		t.foreign++
		return
	}
	version := a.JobVersion
	if a.Job != nil {
		version = a.Job.Version
	}
	t.allocs[a.ID] = &allocTrack{job: j, version: version}
	j.placed++
	j.lastPlaced = latest(j.lastPlaced, at)
	t.placed++
	t.lastPlaced = latest(t.lastPlaced, at)
	if t.placed == t.want {
		close(t.allPlaced)
	}
}

// runningAllocs records allocations whose running status committed at at.
func (t *tracker) runningAllocs(ids []string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		a := t.allocs[id]
		if a == nil || a.running {
			continue
		}
		a.running = true
		t.byVersion[a.version]++
		if w := t.waiters[a.version]; w != nil && t.byVersion[a.version] == w.want {
			close(w.ch)
		}
		t.running++
		t.lastRun = latest(t.lastRun, at)
		if t.running == t.want {
			close(t.allRunning)
		}
	}
}

// awaitVersion returns a channel closed once want allocations of job
// version v (the benchmark's jobs share their versions) were reported
// running. One waiter per version.
func (t *tracker) awaitVersion(v uint64, want int) <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := &versionWait{want: want, ch: make(chan struct{})}
	t.waiters[v] = w
	if t.byVersion[v] >= want {
		close(w.ch)
	}
	return w.ch
}

// versionRunning is how many allocations of version v run.
func (t *tracker) versionRunning(v uint64) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byVersion[v]
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// progress is a consistent view of the counters.
// retried counts a registration sent again.
func (t *tracker) retried() {
	t.mu.Lock()
	t.retries++
	t.mu.Unlock()
}

type progress struct {
	placed, running, want, foreign int
	retries                        int
}

func (t *tracker) progress() progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	return progress{placed: t.placed, running: t.running, want: t.want, foreign: t.foreign, retries: t.retries}
}

// results are the benchmark's figures.
type results struct {
	toPlaced, toRunning time.Duration
	jobP50, jobP99      time.Duration
	jobMax              time.Duration
}

// results computes the figures once everything was placed and running.
func (t *tracker) results() results {
	t.mu.Lock()
	defer t.mu.Unlock()
	lat := make([]time.Duration, 0, len(t.jobs))
	for _, j := range t.jobs {
		lat = append(lat, j.lastPlaced.Sub(j.submitted))
	}
	slices.Sort(lat)
	return results{
		toPlaced:  t.lastPlaced.Sub(t.firstSubmit),
		toRunning: t.lastRun.Sub(t.firstSubmit),
		jobP50:    percentile(lat, 50), jobP99: percentile(lat, 99), jobMax: percentile(lat, 100),
	}
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
