package agent

import (
	"maps"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
)

// hostGauges are Nomad's nomad.client.host.* gauges: memory, each CPU
// (label cpu) and the alloc dir's disk (label disk).
func hostGauges(h *api.HostStats, base map[string]string) []structs.Gauge {
	g := func(name string, v float64, extra ...string) structs.Gauge {
		l := maps.Clone(base)
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return structs.Gauge{Name: "nomad.client.host." + name, Value: v, Labels: l}
	}
	var out []structs.Gauge
	if m := h.Memory; m != nil {
		out = append(out, g("memory.total", float64(m.Total)), g("memory.available", float64(m.Available)),
			g("memory.used", float64(m.Used)), g("memory.free", float64(m.Free)))
	}
	for _, c := range h.CPU {
		out = append(out, g("cpu.total", 100-c.Idle, "cpu", c.CPU), g("cpu.user", c.User, "cpu", c.CPU),
			g("cpu.system", c.System, "cpu", c.CPU), g("cpu.idle", c.Idle, "cpu", c.CPU))
	}
	if d := h.AllocDirStats; d != nil {
		out = append(out, g("disk.size", float64(d.Size), "disk", d.Device), g("disk.used", float64(d.Used), "disk", d.Device),
			g("disk.available", float64(d.Available), "disk", d.Device),
			g("disk.used_percent", d.UsedPercent, "disk", d.Device), g("disk.inodes_percent", d.InodesUsedPercent, "disk", d.Device))
	}
	return append(out, g("uptime", float64(h.Uptime)))
}
