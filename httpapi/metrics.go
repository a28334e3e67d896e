package httpapi

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/roam-sh/roam/structs"
)

// MetricsSource reports the agent's gauges (optional power of the Agent:
// an agent without it answers /v1/metrics with no gauges).
type MetricsSource interface {
	Metrics() []structs.Gauge
}

// AggregateSource reports the agent's counters and timing samples, each
// accumulated since the agent started (optional power of the Agent).
type AggregateSource interface {
	Aggregates() (counters, samples []structs.Aggregate)
}

// HistogramSource reports the agent's distributions (optional power of the
// Agent), shown in Prometheus' format only.
type HistogramSource interface {
	Histograms() []structs.Histogram
}

// metricsSummary is /v1/metrics as JSON, in the shape of Nomad's (go-metrics'
// in-memory sink). Gauges are read at the request; counters and samples
// accumulate from the agent's start (Nomad's cover the last 10 s interval).
type metricsSummary struct {
	Timestamp string
	Gauges    []gaugeValue
	Points    []struct{}
	Counters  []structs.Aggregate
	Samples   []structs.Aggregate
}

type gaugeValue struct {
	Name   string
	Value  float64
	Labels map[string]string
}

// metrics: GET /v1/metrics, JSON, or ?format=prometheus for Prometheus'
// text format (names with dots and dashes turned to underscores, as Nomad's
// Prometheus sink names them: nomad_nomad_broker_total_ready; counters as
// counters, samples as summaries with their count and sum).
func (h *handlers) metrics(w http.ResponseWriter, r *http.Request) {
	var gauges []structs.Gauge
	if src, ok := h.agent.(MetricsSource); ok {
		gauges = src.Metrics()
	}
	var counters, samples []structs.Aggregate
	if src, ok := h.agent.(AggregateSource); ok {
		counters, samples = src.Aggregates()
	}
	if r.URL.Query().Get("format") == "prometheus" {
		var hists []structs.Histogram
		if src, ok := h.agent.(HistogramSource); ok {
			hists = src.Histograms()
		}
		reg := prometheus.NewPedanticRegistry()
		if err := reg.Register(metricsCollector{gauges, counters, samples, hists}); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
		return
	}
	out := metricsSummary{Timestamp: time.Now().UTC().Truncate(10 * time.Second).Format("2006-01-02 15:04:05 -0700 MST"),
		Gauges: []gaugeValue{}, Points: []struct{}{}, Counters: withLabels(counters), Samples: withLabels(samples)}
	for _, g := range gauges {
		labels := g.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		out.Gauges = append(out.Gauges, gaugeValue{Name: g.Name, Value: g.Value, Labels: labels})
	}
	sort.SliceStable(out.Gauges, func(i, j int) bool { return out.Gauges[i].Name < out.Gauges[j].Name })
	writeJSON(w, r, out)
}

// withLabels answers every aggregate with a labels object (never null, as
// Nomad's) and an empty list rather than null.
func withLabels(in []structs.Aggregate) []structs.Aggregate {
	out := make([]structs.Aggregate, 0, len(in))
	for _, a := range in {
		if a.Labels == nil {
			a.Labels = map[string]string{}
		}
		out = append(out, a)
	}
	return out
}

// metricsCollector hands a scrape's values to Prometheus as constant
// metrics.
type metricsCollector struct {
	gauges            []structs.Gauge
	counters, samples []structs.Aggregate
	histograms        []structs.Histogram
}

// Describe sends nothing: the collector is unchecked, its metrics are
// known only when collected.
func (metricsCollector) Describe(chan<- *prometheus.Desc) {}

func (c metricsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, g := range c.gauges {
		desc, values := promDesc(g.Name, g.Labels)
		ch <- constMetric(prometheus.NewConstMetric(desc, prometheus.GaugeValue, g.Value, values...))(desc)
	}
	for _, a := range c.counters {
		desc, values := promDesc(a.Name, a.Labels)
		ch <- constMetric(prometheus.NewConstMetric(desc, prometheus.CounterValue, a.Sum, values...))(desc)
	}
	for _, a := range c.samples {
		desc, values := promDesc(a.Name, a.Labels)
		ch <- constMetric(prometheus.NewConstSummary(desc, uint64(a.Count), a.Sum, nil, values...))(desc)
	}
	for _, hg := range c.histograms {
		desc, values := promDesc(hg.Name, hg.Labels)
		ch <- constMetric(prometheus.NewConstHistogram(desc, hg.Count, hg.Sum, hg.Buckets, values...))(desc)
	}
}

// promDesc describes a metric with its labels in a stable order.
func promDesc(name string, labels map[string]string) (*prometheus.Desc, []string) {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	values := make([]string, len(names))
	for i, k := range names {
		values[i] = labels[k]
	}
	return prometheus.NewDesc(promName(name), name, names, nil), values
}

// constMetric turns a failed construction into an invalid metric, which
// the registry reports without dropping the rest of the scrape.
func constMetric(m prometheus.Metric, err error) func(*prometheus.Desc) prometheus.Metric {
	return func(desc *prometheus.Desc) prometheus.Metric {
		if err != nil {
			return prometheus.NewInvalidMetric(desc, err)
		}
		return m
	}
}

// promName is Nomad's Prometheus name for a go-metrics name.
func promName(name string) string {
	return strings.NewReplacer(".", "_", "-", "_").Replace(name)
}
