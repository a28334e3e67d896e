package structs

// Gauge is one point-in-time measurement, named as Nomad names it in
// go-metrics ("nomad.nomad.broker.total_ready"): /v1/metrics lists gauges
// under these names in JSON, and with dots turned to underscores in the
// Prometheus format, so dashboards built for Nomad read roam.
type Gauge struct {
	Name   string
	Value  float64
	Labels map[string]string
}

// Aggregate is a counter or a timing sample accumulated since the agent
// started, in the shape of go-metrics' SampledValue that Nomad's
// /v1/metrics lists: Count observations summing to Sum, their spread, and
// Rate, Sum per second. Timings are in milliseconds.
type Aggregate struct {
	Name   string
	Count  int
	Rate   float64
	Sum    float64
	Min    float64
	Max    float64
	Mean   float64
	Stddev float64
	Labels map[string]string
}

// Histogram is a distribution the agent reports (a mesh proxy's request
// latency): Count observations summing to Sum, and Buckets, the count of
// observations at most each upper bound (cumulative, as Prometheus has
// them). Prometheus' format shows it as a histogram; JSON does not list it.
type Histogram struct {
	Name    string
	Count   uint64
	Sum     float64
	Buckets map[float64]uint64
	Labels  map[string]string
}
