package jobspec

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/roam-sh/roam/structs"
)

// service decodes a service block (group or task level). A check_restart
// written on the service applies to each of its checks, under the check's
// own check_restart.
func (d *decoder) service(list *[]*structs.Service) func(*hcl.Block) {
	return func(b *hcl.Block) {
		s := &structs.Service{}
		var checks []*hcl.Block
		var checkRestart *hcl.Block
		d.decode(b.Body,
			attr("name", d.serviceName(&s.Name)),
			attr("tags", d.strs(&s.Tags)),
			attr("canary_tags", d.strs(&s.CanaryTags)),
			attr("enable_tag_override", d.boolean(&s.EnableTagOverride)),
			attr("port", d.portRef(&s.PortLabel)),
			attr("address_mode", typedEnum(d, &s.AddressMode, structs.ParseServiceAddressMode)),
			attr("address", d.str(&s.Address)),
			attr("task", d.str(&s.TaskName)),
			attr("on_update", typedEnum(d, &s.OnUpdate, structs.ParseOnUpdate)),
			attr("provider", typedEnum(d, &s.Provider, structs.ParseServiceProvider)),
			attr("cluster", d.str(&s.Cluster)),
			attr("kind", d.str(&s.Kind)),
			d.stringMap("meta", &s.Meta),
			d.stringMap("canary_meta", &s.CanaryMeta),
			d.stringMap("tagged_addresses", &s.TaggedAddresses),
			repeated("check", collect(&checks)),
			single("check_restart", keep(&checkRestart)),
			single("connect", d.connect(&s.Connect)),
			single("weights", d.weights(&s.Weights)),
			d.ignored("identity"),
		)
		for _, cb := range checks {
			s.Checks = append(s.Checks, d.check(cb, checkRestart))
		}
		*list = append(*list, s)
	}
}

func (d *decoder) weights(p **structs.ServiceWeights) func(*hcl.Block) {
	return func(b *hcl.Block) {
		w := &structs.ServiceWeights{Passing: 1, Warning: 1}
		d.decode(b.Body,
			attr("passing", num(d, &w.Passing)),
			attr("warning", num(d, &w.Warning)),
		)
		*p = w
	}
}

// check decodes a check block; serviceRestart is the service's check_restart.
func (d *decoder) check(b *hcl.Block, serviceRestart *hcl.Block) *structs.ServiceCheck {
	c := &structs.ServiceCheck{}
	var own *hcl.Block
	d.decode(b.Body,
		attr("name", d.str(&c.Name)),
		attr("type", typedEnum(d, &c.Type, structs.ParseCheckType)),
		attr("command", d.str(&c.Command)),
		attr("args", d.strs(&c.Args)),
		attr("path", d.str(&c.Path)),
		attr("protocol", d.str(&c.Protocol)),
		attr("port", d.portRef(&c.PortLabel)),
		attr("expose", d.boolean(&c.Expose)),
		attr("address_mode", typedEnum(d, &c.AddressMode, structs.ParseCheckAddressMode)),
		attr("advertise", d.discard),
		attr("interval", d.dur(&c.Interval)),
		attr("timeout", d.dur(&c.Timeout)),
		attr("initial_status", d.enum(&c.InitialStatus, "passing", "warning", "critical")),
		attr("notes", d.str(&c.Notes)),
		attr("tls_server_name", d.str(&c.TLSServerName)),
		attr("tls_skip_verify", d.boolean(&c.TLSSkipVerify)),
		attr("method", d.str(&c.Method)),
		attr("grpc_service", d.str(&c.GRPCService)),
		attr("grpc_use_tls", d.boolean(&c.GRPCUseTLS)),
		attr("task", d.str(&c.TaskName)),
		attr("success_before_passing", num(d, &c.SuccessBeforePassing)),
		attr("failures_before_critical", num(d, &c.FailuresBeforeCritical)),
		attr("failures_before_warning", num(d, &c.FailuresBeforeWarning)),
		attr("body", d.str(&c.Body)),
		attr("on_update", typedEnum(d, &c.OnUpdate, structs.ParseOnUpdate)),
		either("header", d.headerAttr(&c.Header), d.headerBlock(&c.Header)),
		single("check_restart", keep(&own)),
	)
	if serviceRestart != nil || own != nil {
		c.CheckRestart = &structs.CheckRestart{Grace: structs.DefaultCheckRestartGrace}
		d.checkRestart(serviceRestart, c.CheckRestart)
		d.checkRestart(own, c.CheckRestart)
	}
	return c
}

// checkRestart decodes check_restart { limit, grace, ignore_warnings } over *r.
func (d *decoder) checkRestart(b *hcl.Block, r *structs.CheckRestart) {
	if b == nil {
		return
	}
	d.decode(b.Body,
		attr("limit", num(d, &r.Limit)),
		attr("grace", d.dur(&r.Grace)),
		attr("ignore_warnings", d.boolean(&r.IgnoreWarnings)),
	)
}

// headerBlock decodes header { Name = ["v1", "v2"] }.
func (d *decoder) headerBlock(p *map[string][]string) func(*hcl.Block) {
	return func(b *hcl.Block) {
		for name, a := range d.attributes(b.Body) {
			if v, ok := convertTo[[]string](d, a, cty.List(cty.String)); ok {
				putHeader(p, name, v)
			}
		}
	}
}

// headerAttr decodes header = { Name = ["v1"] }.
func (d *decoder) headerAttr(p *map[string][]string) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		v, ok := d.eval(a)
		if !ok {
			return
		}
		m, err := convert.Convert(singleObject(v), cty.Map(cty.List(cty.String)))
		if err != nil || m.IsNull() {
			d.errorf(a.Expr.Range(), "Incorrect attribute value type", "%q must map names to lists of strings", a.Name)
			return
		}
		for k, list := range m.AsValueMap() {
			if list.IsNull() {
				continue
			}
			var vals []string
			for _, e := range list.AsValueSlice() {
				if !e.IsNull() {
					vals = append(vals, e.AsString())
				}
			}
			putHeader(p, k, vals)
		}
	}
}

func putHeader(p *map[string][]string, k string, v []string) {
	if *p == nil {
		*p = map[string][]string{}
	}
	(*p)[k] = v
}

// serviceName decodes a service name and refuses, at its position, one that
// is not an RFC 1123 label (each ${...} counting as a letter).
func (d *decoder) serviceName(p *string) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		d.str(p)(a)
		if msg := structs.ServiceNameProblem(*p); msg != "" {
			d.errorf(a.Expr.Range(), "Invalid service name", "%s", msg)
		}
	}
}

// portRef is a port attribute of a service or check, kept with its position
// until the whole group is decoded: only then are its port labels known.
type portRef struct {
	ref string
	rng hcl.Range
}

// portRef decodes a service's or check's port and remembers it for
// checkPortRefs.
func (d *decoder) portRef(p *string) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		d.str(p)(a)
		d.portRefs = append(d.portRefs, portRef{ref: *p, rng: a.Expr.Range()})
	}
}

// checkPortRefs refuses, at their positions, the ports the group's services
// and checks name that its networks do not define.
func (d *decoder) checkPortRefs(tg *structs.TaskGroup) {
	labels := tg.PortLabels()
	for _, r := range d.portRefs {
		if msg := structs.PortRefProblem("port", r.ref, labels); msg != "" {
			d.errorf(r.rng, "Unknown port", "%s", msg)
		}
	}
	d.portRefs = nil
}
