package agent

import (
	"maps"
	"path/filepath"
	"slices"

	"github.com/roam-sh/roam/client"
	"github.com/roam-sh/roam/client/allocdir"
	"github.com/roam-sh/roam/drivers/meshproxy"
	"github.com/roam-sh/roam/mesh/proxy"
	"github.com/roam-sh/roam/mesh/proxy/sidecar"
	"github.com/roam-sh/roam/structs"
)

// meshGauges are the counters of the sidecar proxies of this client's
// running allocations, per proxy (service, allocation) and per upstream
// (destination): each proxy writes them to a file in its task's private
// directory every few seconds, read here when scraped.
func meshGauges(cl *client.Client, base map[string]string) []structs.Gauge {
	g, _ := meshMetrics(cl, base)
	return g
}

// meshMetrics reads every running proxy's counters: gauges, and the
// latency histograms of its http listeners.
func meshMetrics(cl *client.Client, base map[string]string) ([]structs.Gauge, []structs.Histogram) {
	var out []structs.Gauge
	var hists []structs.Histogram
	for _, ar := range cl.AllocRunners() {
		a := ar.Alloc()
		if a.ClientStatus != structs.AllocClientStatusRunning {
			continue
		}
		tg := a.LookupTaskGroup()
		if tg == nil {
			continue
		}
		for _, t := range tg.Tasks {
			if t == nil || t.Kind.Prefix() != structs.TaskKindConnectProxy {
				continue
			}
			st, err := sidecar.ReadStats(filepath.Join(cl.AllocRoot(), a.ID, t.Name, allocdir.TaskPrivate, meshproxy.StatsFile))
			if err != nil {
				continue // not written yet, or the proxy is gone
			}
			out = append(out, proxyGauges(st, base, t.Kind.Service(), a.ID)...)
			hists = append(hists, proxyHistograms(st, base, t.Kind.Service(), a.ID)...)
		}
	}
	return out, hists
}

func proxyGauges(st proxy.Stats, base map[string]string, service, allocID string) []structs.Gauge {
	labels := maps.Clone(base)
	labels["service"], labels["alloc_id"] = service, allocID
	out := []structs.Gauge{
		{Name: "roam.mesh.inbound.connections", Value: float64(st.InboundConns), Labels: labels},
		{Name: "roam.mesh.inbound.bytes", Value: float64(st.InboundBytes), Labels: labels},
		{Name: "roam.mesh.inbound.denied", Value: float64(st.Denied), Labels: labels},
		{Name: "roam.mesh.inbound.refused", Value: float64(st.InboundRefused), Labels: labels},
		{Name: "roam.mesh.inbound.idle_closed", Value: float64(st.InboundIdleClosed), Labels: labels},
		{Name: "roam.mesh.handshakes", Value: float64(st.Handshakes), Labels: labels},
		{Name: "roam.mesh.handshake_errors", Value: float64(st.HandshakeErrors), Labels: labels},
		{Name: "roam.mesh.expose.requests", Value: float64(st.ExposeRequests), Labels: labels},
	}
	out = append(out, httpRequestGauges("roam.mesh.inbound.http.requests", st.HTTP, labels)...)
	for dest, u := range st.Upstreams {
		ul := maps.Clone(labels)
		ul["destination"] = dest
		out = append(out,
			structs.Gauge{Name: "roam.mesh.upstream.connections", Value: float64(u.Conns), Labels: ul},
			structs.Gauge{Name: "roam.mesh.upstream.bytes", Value: float64(u.Bytes), Labels: ul},
			structs.Gauge{Name: "roam.mesh.upstream.errors", Value: float64(u.Errors), Labels: ul})
		out = append(out, httpRequestGauges("roam.mesh.upstream.http.requests", u.HTTP, ul)...)
	}
	return out
}

// httpRequestGauges are an http listener's requests by status class
// (label code_class: 2xx, 4xx, …), none when it saw none.
func httpRequestGauges(name string, h *proxy.HTTPStats, labels map[string]string) []structs.Gauge {
	if h == nil {
		return nil
	}
	var out []structs.Gauge
	for _, class := range slices.Sorted(maps.Keys(h.Requests)) {
		l := maps.Clone(labels)
		l["code_class"] = class
		out = append(out, structs.Gauge{Name: name, Value: float64(h.Requests[class]), Labels: l})
	}
	return out
}

// proxyHistograms are the request latency of a proxy's http listeners,
// inbound and per upstream.
func proxyHistograms(st proxy.Stats, base map[string]string, service, allocID string) []structs.Histogram {
	labels := maps.Clone(base)
	labels["service"], labels["alloc_id"] = service, allocID
	var out []structs.Histogram
	if st.HTTP != nil {
		out = append(out, latencyHistogram("roam.mesh.inbound.http.request_duration_seconds", st.HTTP, labels))
	}
	for dest, u := range st.Upstreams {
		if u.HTTP == nil {
			continue
		}
		ul := maps.Clone(labels)
		ul["destination"] = dest
		out = append(out, latencyHistogram("roam.mesh.upstream.http.request_duration_seconds", u.HTTP, ul))
	}
	return out
}

func latencyHistogram(name string, h *proxy.HTTPStats, labels map[string]string) structs.Histogram {
	buckets := make(map[float64]uint64, len(h.Buckets))
	for i, n := range h.Buckets {
		if i < len(proxy.LatencyBuckets) {
			buckets[proxy.LatencyBuckets[i]] = uint64(n)
		}
	}
	return structs.Histogram{Name: name, Count: uint64(h.Count), Sum: h.LatencySeconds, Buckets: buckets, Labels: labels}
}
