package agent

import (
	"maps"
	"slices"

	"github.com/roam-sh/roam/structs"
)

// Metrics is what /v1/metrics reports: the server's queues and Raft
// progress, and the client's allocations and host, under Nomad's names and
// labels. Everything is read when asked; no sampler runs in between.
func (i *agentInfo) Metrics() []structs.Gauge {
	var out []structs.Gauge
	if s := i.a.server; s != nil {
		out = append(out, s.Gauges()...)
	}
	if cl := i.a.client; cl != nil {
		out = append(out, i.clientGauges()...)
	}
	return out
}

// Histograms are the request latency of the client's mesh proxies' http
// listeners (Prometheus' format only).
func (i *agentInfo) Histograms() []structs.Histogram {
	cl := i.a.client
	if cl == nil {
		return nil
	}
	_, h := meshMetrics(cl, i.clientLabels())
	return h
}

// clientLabels label every client metric: the node's, as Nomad's.
func (i *agentInfo) clientLabels() map[string]string {
	cl := i.a.client
	labels := map[string]string{"node_id": cl.NodeID(), "datacenter": i.a.cfg.Datacenter, "host": i.a.cfg.NodeName}
	if node := cl.Node(); node != nil {
		labels["node_class"], labels["node_pool"] = node.NodeClass, node.NodePool
	}
	return labels
}

// Aggregates are the counters and timing samples the server recorded
// (raft commits, plans, scheduler runs), since the agent
// started.
func (i *agentInfo) Aggregates() (counters, samples []structs.Aggregate) {
	return i.a.metrics.Snapshot()
}

func (i *agentInfo) clientGauges() []structs.Gauge {
	cl := i.a.client
	node := cl.Node()
	labels := i.clientLabels()
	// Nomad's nomad.client.allocations.* by client status; roam's client
	// never blocks or migrates an allocation, so those two stay 0.
	count := map[string]float64{"pending": 0, "running": 0, "terminal": 0, "blocked": 0, "migrating": 0}
	for _, ar := range cl.AllocRunners() {
		switch st := ar.Alloc().ClientStatus; {
		case st == structs.AllocClientStatusPending:
			count["pending"]++
		case st == structs.AllocClientStatusRunning:
			count["running"]++
		case st.Terminal():
			count["terminal"]++
		}
	}
	var out []structs.Gauge
	for _, name := range slices.Sorted(maps.Keys(count)) {
		out = append(out, structs.Gauge{Name: "nomad.client.allocations." + name, Value: count[name], Labels: labels})
	}
	var mhz int64
	if node != nil {
		mhz = node.NodeResources.Cpu.CpuShares
	}
	out = append(out, meshGauges(cl, labels)...)
	return append(out, hostGauges(i.host.Collect(cl.AllocRoot(), mhz), labels)...)
}
