package telemetry

import (
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roam-sh/roam/structs"
)

// MaxSeries bounds the series (name and labels) a registry keeps; a new
// series past it is dropped, so labels from job submissions cannot grow the
// agent's memory without end.
const MaxSeries = 4096

// Label is one metric label.
type Label struct{ Name, Value string }

// Registry holds counters and samples. Safe for concurrent use; methods on
// a nil *Registry do nothing.
type Registry struct {
	start    time.Time
	mu       sync.Mutex
	counters map[string]*series
	samples  map[string]*series
}

// series accumulates one name with one set of labels.
type series struct {
	name   string
	labels map[string]string
	count  int
	sum    float64
	sumSq  float64
	min    float64
	max    float64
}

// New returns an empty registry whose rates count from now.
func New() *Registry {
	return &Registry{start: time.Now(), counters: map[string]*series{}, samples: map[string]*series{}}
}

// Incr adds v to the counter name.
func (r *Registry) Incr(name string, v float64, labels ...Label) {
	if r != nil {
		r.add(r.counters, name, v, labels)
	}
}

// Observe records one sample of name (timings in milliseconds, as
// go-metrics records them for Nomad).
func (r *Registry) Observe(name string, v float64, labels ...Label) {
	if r != nil {
		r.add(r.samples, name, v, labels)
	}
}

// Since records the milliseconds since start as a sample of name; used as
// `defer reg.Since(name, time.Now())`.
func (r *Registry) Since(name string, start time.Time, labels ...Label) {
	r.Observe(name, float64(time.Since(start))/float64(time.Millisecond), labels...)
}

func (r *Registry) add(m map[string]*series, name string, v float64, labels []Label) {
	key := seriesKey(name, labels)
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := m[key]
	if !ok {
		if len(r.counters)+len(r.samples) >= MaxSeries {
			return
		}
		s = &series{name: name, labels: map[string]string{}, min: v, max: v}
		for _, l := range labels {
			s.labels[l.Name] = l.Value
		}
		m[key] = s
	}
	s.count++
	s.sum += v
	s.sumSq += v * v
	s.min, s.max = math.Min(s.min, v), math.Max(s.max, v)
}

// seriesKey identifies name with its labels, in the order given (callers
// pass a metric's labels in one order).
func seriesKey(name string, labels []Label) string {
	var b strings.Builder
	b.WriteString(name)
	for _, l := range labels {
		b.WriteString("\x00" + l.Name + "=" + l.Value)
	}
	return b.String()
}

// Snapshot returns every counter and sample, sorted by name, as /v1/metrics
// lists them.
func (r *Registry) Snapshot() (counters, samples []structs.Aggregate) {
	if r == nil {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	elapsed := time.Since(r.start).Seconds()
	return aggregates(r.counters, elapsed), aggregates(r.samples, elapsed)
}

func aggregates(m map[string]*series, elapsed float64) []structs.Aggregate {
	out := make([]structs.Aggregate, 0, len(m))
	for _, key := range slices.Sorted(maps.Keys(m)) {
		s := m[key]
		mean := s.sum / float64(s.count)
		variance := s.sumSq/float64(s.count) - mean*mean
		a := structs.Aggregate{Name: s.name, Labels: maps.Clone(s.labels), Count: s.count, Sum: s.sum,
			Min: s.min, Max: s.max, Mean: mean, Stddev: math.Sqrt(math.Max(variance, 0))}
		if elapsed > 0 {
			a.Rate = s.sum / elapsed
		}
		out = append(out, a)
	}
	return out
}
