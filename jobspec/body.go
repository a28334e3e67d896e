package jobspec

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/roam-sh/roam/structs"
)

// decoder carries what every block decoder needs: the evaluation context,
// the native-syntax bodies of the file (for blocks whose content is free-form)
// and the problems found so far. Decoders keep going after a problem so that
// one run reports all of them.
type decoder struct {
	ctx     *hcl.EvalContext
	bodies  map[hcl.Range]*hclsyntax.Body
	diags   hcl.Diagnostics
	jobType structs.JobType
	// portRefs are the current group's service and check ports, checked
	// once the group is decoded (checkPortRefs).
	portRefs []portRef
}

func (d *decoder) report(diags hcl.Diagnostics) { d.diags = append(d.diags, diags...) }

func (d *decoder) errorf(rng hcl.Range, summary, format string, args ...any) {
	d.diags = append(d.diags, errorf(rng, summary, format, args...))
}

// field describes one attribute and/or block type a body may hold.
type field struct {
	name    string
	labels  []string
	once    bool // the block may appear at most once
	onAttr  func(*hcl.Attribute)
	onBlock func(*hcl.Block)
}

// attr declares an attribute.
func attr(name string, fn func(*hcl.Attribute)) field { return field{name: name, onAttr: fn} }

// single declares a block that may appear at most once.
func single(name string, fn func(*hcl.Block)) field {
	return field{name: name, once: true, onBlock: fn}
}

// repeated declares a block that may appear any number of times.
func repeated(name string, fn func(*hcl.Block), labels ...string) field {
	return field{name: name, labels: labels, onBlock: fn}
}

// either declares a name that may be written as an attribute (a map) or as a
// block; meta, env and config are written both ways in the wild.
func either(name string, onAttr func(*hcl.Attribute), onBlock func(*hcl.Block)) field {
	return field{name: name, onAttr: onAttr, onBlock: onBlock}
}

// ignored accepts a block for compatibility and decodes it only to report
// syntax and evaluation errors.
func (d *decoder) ignored(name string) field {
	return repeated(name, func(b *hcl.Block) { d.generic(b.Body) })
}

// decode checks body against fields and calls each field's handler:
// attributes first, in the order of fields, then blocks in source order.
func (d *decoder) decode(body hcl.Body, fields ...field) {
	schema := &hcl.BodySchema{}
	byName := map[string]field{}
	for _, f := range fields {
		byName[f.name] = f
		if f.onAttr != nil {
			schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: f.name})
		}
		if f.onBlock != nil {
			schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: f.name, LabelNames: f.labels})
		}
	}
	content, diags := body.Content(schema)
	d.report(diags)
	if content == nil {
		return
	}
	for _, f := range fields {
		if a := content.Attributes[f.name]; a != nil && f.onAttr != nil {
			f.onAttr(a)
		}
	}
	first := map[string]*hcl.Block{}
	for _, b := range content.Blocks {
		f := byName[b.Type]
		if prev := first[b.Type]; prev != nil && f.once {
			d.errorf(b.DefRange, "Duplicate "+b.Type+" block",
				"only one %s block is allowed here; the first one is at %s", b.Type, at(prev.DefRange))
			continue
		}
		first[b.Type] = b
		f.onBlock(b)
	}
}

// eval evaluates an attribute, keeping runtime references as text. ok is false
// when evaluation failed (the problem is recorded) or the value is null.
func (d *decoder) eval(a *hcl.Attribute) (cty.Value, bool) {
	return d.evalExpr(a.Expr)
}

func (d *decoder) evalExpr(expr hcl.Expression) (cty.Value, bool) {
	v, diags := expr.Value(passthroughContext(d.ctx, expr.Variables()))
	d.report(diags)
	if diags.HasErrors() || v.IsNull() {
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		d.errorf(expr.Range(), "Unknown value", "the value cannot be known while parsing the job file")
		return cty.NilVal, false
	}
	v, _ = v.UnmarkDeep()
	return v, true
}

// typed evaluates a and converts it to ty, reporting a type error at a.
func (d *decoder) typed(a *hcl.Attribute, ty cty.Type) (cty.Value, bool) {
	v, ok := d.eval(a)
	if !ok {
		return cty.NilVal, false
	}
	out, err := convert.Convert(v, ty)
	if err != nil {
		d.errorf(a.Expr.Range(), "Incorrect attribute value type",
			"inappropriate value for attribute %q: %s", a.Name, err)
		return cty.NilVal, false
	}
	if out.IsNull() {
		return cty.NilVal, false
	}
	return out, true
}

// convertTo evaluates a and converts it to ty and then to the Go type T.
func convertTo[T any](d *decoder, a *hcl.Attribute, ty cty.Type) (T, bool) {
	var out T
	v, ok := d.typed(a, ty)
	if !ok {
		return out, false
	}
	if err := gocty.FromCtyValue(v, &out); err != nil {
		d.errorf(a.Expr.Range(), "Invalid value", "invalid value for %q: %s", a.Name, err)
		return out, false
	}
	return out, true
}

// set returns an attribute handler storing the value, converted to ty and
// then to T, in *p.
func set[T any](d *decoder, p *T, ty cty.Type) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		if v, ok := convertTo[T](d, a, ty); ok {
			*p = v
		}
	}
}

// num stores a whole number of any Go integer type.
func num[T int | int8 | int64 | uint8 | uint16 | uint32 | uint64](d *decoder, p *T) func(*hcl.Attribute) {
	return set(d, p, cty.Number)
}

// numPtr stores a whole number behind a pointer, for fields where unset and
// zero differ.
func numPtr[T int | int64 | uint32](d *decoder, p **T) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		if v, ok := convertTo[T](d, a, cty.Number); ok {
			*p = &v
		}
	}
}

func (d *decoder) str(p *string) func(*hcl.Attribute)    { return set(d, p, cty.String) }
func (d *decoder) boolean(p *bool) func(*hcl.Attribute)  { return set(d, p, cty.Bool) }
func (d *decoder) strs(p *[]string) func(*hcl.Attribute) { return set(d, p, cty.List(cty.String)) }

// boolPtr stores a bool behind a pointer.
func (d *decoder) boolPtr(p **bool) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		if v, ok := d.typed(a, cty.Bool); ok {
			b := v.True()
			*p = &b
		}
	}
}

// strMap merges a map attribute into *p, converting values to strings.
func (d *decoder) strMap(p *map[string]string) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		v, ok := d.eval(a)
		if !ok {
			return
		}
		v = singleObject(v)
		m, err := convert.Convert(v, cty.Map(cty.String))
		if err != nil || m.IsNull() {
			d.errorf(a.Expr.Range(), "Incorrect attribute value type",
				"%q must be a map of strings", a.Name)
			return
		}
		for k, e := range m.AsValueMap() {
			putString(p, k, e)
		}
	}
}

// strMapBlock merges the attributes of a block body into *p.
func (d *decoder) strMapBlock(p *map[string]string) func(*hcl.Block) {
	return func(b *hcl.Block) {
		for name, a := range d.attributes(b.Body) {
			if v, ok := d.typed(a, cty.String); ok {
				putString(p, name, v)
			}
		}
	}
}

func putString(p *map[string]string, k string, v cty.Value) {
	if *p == nil {
		*p = map[string]string{}
	}
	if v.IsNull() {
		(*p)[k] = ""
		return
	}
	(*p)[k] = v.AsString()
}

// stringMap declares a name holding a map of strings, as attribute or block.
func (d *decoder) stringMap(name string, p *map[string]string) field {
	return either(name, d.strMap(p), d.strMapBlock(p))
}

// dur stores a Go duration string ("30s", "1h30m") in *p.
func (d *decoder) dur(p *time.Duration) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		if v, ok := d.duration(a); ok {
			*p = v
		}
	}
}

// durPtr stores a duration behind a pointer.
func (d *decoder) durPtr(p **time.Duration) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		if v, ok := d.duration(a); ok {
			*p = &v
		}
	}
}

func (d *decoder) duration(a *hcl.Attribute) (time.Duration, bool) {
	v, ok := d.eval(a)
	if !ok {
		return 0, false
	}
	if v.Type() == cty.Number {
		// Whole numbers are nanoseconds, as in the JSON API.
		var n int64
		if err := gocty.FromCtyValue(v, &n); err != nil {
			d.errorf(a.Expr.Range(), "Invalid duration", "%q: %s", a.Name, err)
			return 0, false
		}
		return d.nonNegative(a, time.Duration(n))
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil || s.IsNull() {
		d.errorf(a.Expr.Range(), "Invalid duration", "%q must be a duration string such as \"30s\"", a.Name)
		return 0, false
	}
	out, perr := time.ParseDuration(s.AsString())
	if perr != nil {
		d.errorf(a.Expr.Range(), "Invalid duration",
			"%q is not a valid duration for %q; use a number and a unit, such as \"30s\", \"5m\" or \"1h\"",
			s.AsString(), a.Name)
		return 0, false
	}
	return d.nonNegative(a, out)
}

// nonNegative refuses a negative duration: no setting of a job gives a
// meaning to one (a negative lost_after or kill_timeout would mean "never
// wait"), so the file is told where it wrote it.
func (d *decoder) nonNegative(a *hcl.Attribute, v time.Duration) (time.Duration, bool) {
	if v < 0 {
		d.errorf(a.Expr.Range(), "Invalid duration", "%q must not be negative; got %s", a.Name, v)
		return 0, false
	}
	return v, true
}

// enum stores a string that must be one of allowed.
func (d *decoder) enum(p *string, allowed ...string) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		s, ok := convertTo[string](d, a, cty.String)
		if ok && d.checkEnum(a, s, allowed) {
			*p = s
		}
	}
}

// typedEnum stores a value of a typed enum through its structs parser; a
// value the parser refuses is reported at its position with the known values
// the parser lists.
func typedEnum[T ~string](d *decoder, p *T, parse func(string) (T, error)) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		s, ok := convertTo[string](d, a, cty.String)
		if !ok {
			return
		}
		v, err := parse(s)
		var unknown *structs.UnknownValueError
		switch {
		case errors.As(err, &unknown):
			d.checkEnum(a, s, unknown.Known)
		case err != nil:
			d.errorf(a.Expr.Range(), "Invalid value for "+a.Name, "%v", err)
		default:
			*p = v
		}
	}
}

// checkEnum reports s at a when it is not one of allowed.
func (d *decoder) checkEnum(a *hcl.Attribute, s string, allowed []string) bool {
	for _, v := range allowed {
		if s == v {
			return true
		}
	}
	quoted := make([]string, len(allowed))
	for i, v := range allowed {
		quoted[i] = fmt.Sprintf("%q", v)
	}
	detail := fmt.Sprintf("%q is not a valid value for %q; expected one of %s", s, a.Name, strings.Join(quoted, ", "))
	if sug := suggest(s, allowed); sug != "" {
		detail += fmt.Sprintf("; did you mean %q?", sug)
	}
	d.errorf(a.Expr.Range(), "Invalid value for "+a.Name, "%s", detail)
	return false
}

// suggest returns the allowed value closest to s, if it is close enough to be
// a likely typo.
func suggest(s string, allowed []string) string {
	best, bestDist := "", 3
	for _, v := range allowed {
		if dist := levenshtein.Distance(s, v, nil); dist < bestDist {
			best, bestDist = v, dist
		}
	}
	return best
}

// singleObject unwraps the JSON spelling of a block written as an attribute:
// a one-element list holding an object.
func singleObject(v cty.Value) cty.Value {
	ty := v.Type()
	if (ty.IsTupleType() || ty.IsListType()) && v.LengthInt() == 1 {
		e := v.Index(cty.NumberIntVal(0))
		if e.Type().IsObjectType() || e.Type().IsMapType() {
			return e
		}
	}
	return v
}
