package agent

import (
	"maps"
	"path/filepath"

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
	var out []structs.Gauge
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
		}
	}
	return out
}

func proxyGauges(st proxy.Stats, base map[string]string, service, allocID string) []structs.Gauge {
	labels := maps.Clone(base)
	labels["service"], labels["alloc_id"] = service, allocID
	out := []structs.Gauge{
		{Name: "roam.mesh.inbound.connections", Value: float64(st.InboundConns), Labels: labels},
		{Name: "roam.mesh.inbound.bytes", Value: float64(st.InboundBytes), Labels: labels},
		{Name: "roam.mesh.inbound.denied", Value: float64(st.Denied), Labels: labels},
		{Name: "roam.mesh.handshakes", Value: float64(st.Handshakes), Labels: labels},
		{Name: "roam.mesh.handshake_errors", Value: float64(st.HandshakeErrors), Labels: labels},
		{Name: "roam.mesh.expose.requests", Value: float64(st.ExposeRequests), Labels: labels},
	}
	for dest, u := range st.Upstreams {
		ul := maps.Clone(labels)
		ul["destination"] = dest
		out = append(out,
			structs.Gauge{Name: "roam.mesh.upstream.connections", Value: float64(u.Conns), Labels: ul},
			structs.Gauge{Name: "roam.mesh.upstream.bytes", Value: float64(u.Bytes), Labels: ul},
			structs.Gauge{Name: "roam.mesh.upstream.errors", Value: float64(u.Errors), Labels: ul})
	}
	return out
}
