package jobspec

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/roam-sh/roam/structs"
)

// constraintSugar are the shorthand attributes a constraint may use instead
// of operator and value, e.g. constraint { distinct_hosts = true }. For
// distinct_property the value is the attribute; for the others it is the
// right-hand side.
func constraintSugar() []string {
	return []string{
		structs.ConstraintDistinctHosts, structs.ConstraintDistinctProperty,
		structs.ConstraintRegex, structs.ConstraintVersion, structs.ConstraintSemver,
		structs.ConstraintSetContains, structs.ConstraintSetContainsAny, structs.ConstraintSetContainsAll,
	}
}

// target is the left operand, operator and right operand shared by
// constraints and affinities.
type target struct {
	l, op, r string
	opAttr   *hcl.Attribute
}

// targetFields declares attribute/operator/value and the shorthands.
func (d *decoder) targetFields(t *target) []field {
	fields := []field{
		attr("attribute", d.str(&t.l)),
		attr("value", d.str(&t.r)),
		attr("operator", func(a *hcl.Attribute) {
			if s, ok := convertTo[string](d, a, cty.String); ok {
				t.op, t.opAttr = s, a
			}
		}),
	}
	for _, name := range constraintSugar() {
		fields = append(fields, attr(name, d.sugar(t, name)))
	}
	return fields
}

func (d *decoder) sugar(t *target, op string) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		if t.opAttr != nil {
			d.errorf(a.NameRange, "Conflicting constraint operator",
				"%q sets the operator, which is already set at %s", a.Name, at(t.opAttr.NameRange))
			return
		}
		t.op, t.opAttr = op, a
		if op == structs.ConstraintDistinctHosts {
			if b, ok := convertTo[bool](d, a, cty.Bool); ok && !b {
				t.op = ""
			}
			return
		}
		s, ok := convertTo[string](d, a, cty.String)
		if !ok {
			return
		}
		if op == structs.ConstraintDistinctProperty {
			t.l = s
			return
		}
		t.r = s
	}
}

// operand normalises t.op ("==", "is", "not") and reports an unknown one.
func (d *decoder) operand(t *target) string {
	op, known := structs.NormalizeOperand(t.op)
	if !known && t.opAttr != nil {
		d.errorf(t.opAttr.Expr.Range(), "Invalid value for operator", "%q is not a constraint operator%s",
			t.op, didYouMean(t.op, []string{"=", "!=", "<", "<=", ">", ">=", "regexp", "version", "semver",
				"set_contains", "set_contains_all", "set_contains_any", "distinct_hosts", "distinct_property",
				"is_set", "is_not_set"}))
	}
	return op
}

func didYouMean(s string, allowed []string) string {
	if sug := suggest(s, allowed); sug != "" {
		return "; did you mean \"" + sug + "\"?"
	}
	return ""
}

// constraint decodes constraint { attribute, operator, value } and shorthands.
func (d *decoder) constraint(list *[]*structs.Constraint) func(*hcl.Block) {
	return func(b *hcl.Block) {
		var t target
		d.decode(b.Body, d.targetFields(&t)...)
		*list = append(*list, &structs.Constraint{LTarget: t.l, RTarget: t.r, Operand: d.operand(&t)})
	}
}

// affinity decodes affinity { attribute, operator, value, weight }; weight
// defaults to 50.
func (d *decoder) affinity(list *[]*structs.Affinity) func(*hcl.Block) {
	return func(b *hcl.Block) {
		var t target
		weight := int8(50)
		fields := append(d.targetFields(&t), attr("weight", num(d, &weight)))
		d.decode(b.Body, fields...)
		*list = append(*list, &structs.Affinity{LTarget: t.l, RTarget: t.r, Operand: d.operand(&t), Weight: weight})
	}
}

// spread decodes spread { attribute, weight, target "v" { percent } }.
func (d *decoder) spread(list *[]*structs.Spread) func(*hcl.Block) {
	return func(b *hcl.Block) {
		s := &structs.Spread{Weight: 50}
		d.decode(b.Body,
			attr("attribute", d.str(&s.Attribute)),
			attr("weight", num(d, &s.Weight)),
			repeated("target", func(tb *hcl.Block) {
				st := &structs.SpreadTarget{Value: tb.Labels[0]}
				d.decode(tb.Body, attr("percent", num(d, &st.Percent)))
				s.SpreadTarget = append(s.SpreadTarget, st)
			}, "value"),
		)
		*list = append(*list, s)
	}
}

// update decodes an update block over *u; a nil block changes nothing.
func (d *decoder) update(b *hcl.Block, u *structs.UpdateStrategy) {
	if b == nil {
		return
	}
	d.decode(b.Body,
		attr("max_parallel", num(d, &u.MaxParallel)),
		attr("health_check", d.enum(&u.HealthCheck, structs.UpdateHealthChecks()...)),
		attr("min_healthy_time", d.dur(&u.MinHealthyTime)),
		attr("healthy_deadline", d.dur(&u.HealthyDeadline)),
		attr("progress_deadline", d.dur(&u.ProgressDeadline)),
		attr("auto_revert", d.boolean(&u.AutoRevert)),
		attr("auto_promote", d.boolean(&u.AutoPromote)),
		attr("canary", num(d, &u.Canary)),
		attr("stagger", d.dur(&u.Stagger)),
	)
}

// migrate decodes a migrate block over *m; a nil block changes nothing.
func (d *decoder) migrate(b *hcl.Block, m *structs.MigrateStrategy) {
	if b == nil {
		return
	}
	d.decode(b.Body,
		attr("max_parallel", num(d, &m.MaxParallel)),
		attr("health_check", d.enum(&m.HealthCheck, structs.UpdateHealthChecks()...)),
		attr("min_healthy_time", d.dur(&m.MinHealthyTime)),
		attr("healthy_deadline", d.dur(&m.HealthyDeadline)),
	)
}

// restart decodes a restart block over *r.
func (d *decoder) restart(b *hcl.Block, r *structs.RestartPolicy) {
	d.decode(b.Body,
		attr("attempts", num(d, &r.Attempts)),
		attr("interval", d.dur(&r.Interval)),
		attr("delay", d.dur(&r.Delay)),
		attr("render_templates", d.boolean(&r.RenderTemplates)),
		attr("mode", func(a *hcl.Attribute) {
			var s string
			if d.enum(&s, string(structs.RestartModeFail), string(structs.RestartModeDelay))(a); s != "" {
				r.Mode = structs.RestartMode(s)
			}
		}),
	)
}

// reschedule decodes a reschedule block over *r; a nil block changes nothing.
func (d *decoder) reschedule(b *hcl.Block, r *structs.ReschedulePolicy) {
	if b == nil {
		return
	}
	d.decode(b.Body,
		attr("attempts", num(d, &r.Attempts)),
		attr("interval", d.dur(&r.Interval)),
		attr("delay", d.dur(&r.Delay)),
		attr("delay_function", d.enum(&r.DelayFunction, structs.RescheduleDelayFunctions()...)),
		attr("max_delay", d.dur(&r.MaxDelay)),
		attr("unlimited", d.boolean(&r.Unlimited)),
	)
}

// periodic decodes periodic { cron, crons, enabled, prohibit_overlap,
// time_zone }; a periodic block is enabled unless it says otherwise.
func (d *decoder) periodic(p **structs.PeriodicConfig) func(*hcl.Block) {
	return func(b *hcl.Block) {
		pc := &structs.PeriodicConfig{Enabled: true, SpecType: "cron"}
		d.decode(b.Body,
			attr("cron", d.cronSpec(&pc.Spec)),
			attr("crons", d.cronSpecs(&pc.Specs)),
			attr("enabled", d.boolean(&pc.Enabled)),
			attr("prohibit_overlap", d.boolean(&pc.ProhibitOverlap)),
			attr("time_zone", d.str(&pc.TimeZone)),
		)
		*p = pc
	}
}

// cronSpec and cronSpecs decode periodic cron and crons, each spec parsed
// as the periodic launcher will, so a bad one is reported where it is
// written rather than by the server without a position.
func (d *decoder) cronSpec(p *string) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		if s, ok := convertTo[string](d, a, cty.String); ok && d.checkCron(a, s) {
			*p = s
		}
	}
}

func (d *decoder) cronSpecs(p *[]string) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		if specs, ok := convertTo[[]string](d, a, cty.List(cty.String)); ok && d.checkCron(a, specs...) {
			*p = specs
		}
	}
}

func (d *decoder) checkCron(a *hcl.Attribute, specs ...string) bool {
	for _, spec := range specs {
		if err := structs.ValidateCronSpec(spec); err != nil {
			d.errorf(a.Expr.Range(), "Invalid cron spec", "%q: %v", a.Name, err)
			return false
		}
	}
	return true
}

// parameterized decodes parameterized { payload, meta_required, meta_optional }.
func (d *decoder) parameterized(p **structs.ParameterizedJobConfig) func(*hcl.Block) {
	return func(b *hcl.Block) {
		pj := &structs.ParameterizedJobConfig{Payload: "optional"}
		d.decode(b.Body,
			attr("payload", d.enum(&pj.Payload, structs.DispatchPayloadModes()...)),
			attr("meta_required", d.strs(&pj.MetaRequired)),
			attr("meta_optional", d.strs(&pj.MetaOptional)),
		)
		*p = pj
	}
}
