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

// metricsSummary is /v1/metrics as JSON, in the shape of Nomad's (go-metrics'
// in-memory sink): roam reports gauges only, read at the request.
type metricsSummary struct {
	Timestamp string
	Gauges    []gaugeValue
	Points    []struct{}
	Counters  []struct{}
	Samples   []struct{}
}

type gaugeValue struct {
	Name   string
	Value  float64
	Labels map[string]string
}

// metrics: GET /v1/metrics, JSON, or ?format=prometheus for Prometheus'
// text format (names with dots and dashes turned to underscores, as Nomad's
// Prometheus sink names them: nomad_nomad_broker_total_ready).
func (h *handlers) metrics(w http.ResponseWriter, r *http.Request) {
	var gauges []structs.Gauge
	if src, ok := h.agent.(MetricsSource); ok {
		gauges = src.Metrics()
	}
	if r.URL.Query().Get("format") == "prometheus" {
		reg := prometheus.NewPedanticRegistry()
		if err := reg.Register(gaugeCollector(gauges)); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
		return
	}
	out := metricsSummary{Timestamp: time.Now().UTC().Truncate(10 * time.Second).Format("2006-01-02 15:04:05 -0700 MST"),
		Gauges: []gaugeValue{}, Points: []struct{}{}, Counters: []struct{}{}, Samples: []struct{}{}}
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

// gaugeCollector hands a scrape's gauges to Prometheus as constant metrics.
type gaugeCollector []structs.Gauge

// Describe sends nothing: the collector is unchecked, its metrics are
// known only when collected.
func (gaugeCollector) Describe(chan<- *prometheus.Desc) {}

func (c gaugeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, g := range c {
		names := make([]string, 0, len(g.Labels))
		for k := range g.Labels {
			names = append(names, k)
		}
		sort.Strings(names)
		values := make([]string, len(names))
		for i, k := range names {
			values[i] = g.Labels[k]
		}
		desc := prometheus.NewDesc(promName(g.Name), g.Name, names, nil)
		m, err := prometheus.NewConstMetric(desc, prometheus.GaugeValue, g.Value, values...)
		if err != nil {
			m = prometheus.NewInvalidMetric(desc, err)
		}
		ch <- m
	}
}

// promName is Nomad's Prometheus name for a go-metrics name.
func promName(name string) string {
	return strings.NewReplacer(".", "_", "-", "_").Replace(name)
}
