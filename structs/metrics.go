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
