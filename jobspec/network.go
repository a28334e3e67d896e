package jobspec

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/roam-sh/roam/structs"
)

// network decodes a network block. Ports with a static value above zero
// become reserved ports, the others dynamic ports.
func (d *decoder) network(list *[]*structs.NetworkResource) func(*hcl.Block) {
	return func(b *hcl.Block) {
		n := &structs.NetworkResource{}
		d.decode(b.Body,
			attr("mode", d.networkMode(&n.Mode)),
			attr("hostname", d.str(&n.Hostname)),
			attr("mbits", num(d, &n.MBits)),
			attr("device", d.str(&n.Device)),
			attr("cidr", d.str(&n.CIDR)),
			attr("ip", d.str(&n.IP)),
			repeated("port", d.port(n), "label"),
			single("dns", d.dns(&n.DNS)),
			single("cni", d.cni(&n.CNI)),
		)
		*list = append(*list, n)
	}
}

func (d *decoder) networkMode(p *structs.NetworkMode) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		s, ok := convertTo[string](d, a, cty.String)
		if !ok {
			return
		}
		m, err := structs.ParseNetworkMode(s)
		if err != nil {
			d.errorf(a.Expr.Range(), "Invalid value for mode", "%s%s", err,
				didYouMean(s, []string{"host", "bridge", "none"}))
			return
		}
		*p = m
	}
}

// port decodes port "label" { static, to, host_network, ignore_collision }.
func (d *decoder) port(n *structs.NetworkResource) func(*hcl.Block) {
	return func(b *hcl.Block) {
		p := structs.Port{Label: b.Labels[0]}
		d.decode(b.Body,
			attr("static", num(d, &p.Value)),
			attr("to", num(d, &p.To)),
			attr("host_network", d.str(&p.HostNetwork)),
			attr("ignore_collision", d.boolean(&p.IgnoreCollision)),
		)
		if p.Value > 0 {
			n.ReservedPorts = append(n.ReservedPorts, p)
			return
		}
		n.DynamicPorts = append(n.DynamicPorts, p)
	}
}

// dns decodes dns { servers, searches, options }.
func (d *decoder) dns(p **structs.DNSConfig) func(*hcl.Block) {
	return func(b *hcl.Block) {
		c := &structs.DNSConfig{}
		d.decode(b.Body,
			attr("servers", d.strs(&c.Servers)),
			attr("searches", d.strs(&c.Searches)),
			attr("options", d.strs(&c.Options)),
		)
		*p = c
	}
}

// cni decodes cni { args = { K = "v" } }.
func (d *decoder) cni(p **structs.CNIConfig) func(*hcl.Block) {
	return func(b *hcl.Block) {
		c := &structs.CNIConfig{}
		d.decode(b.Body, d.stringMap("args", &c.Args))
		*p = c
	}
}
