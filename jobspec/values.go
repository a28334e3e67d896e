package jobspec

import (
	"math/big"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Some blocks have no fixed schema: driver config, meta, env, scaling policy.
// For those the decoder asks the native-syntax body what it holds, then reads
// it through the (possibly dynamic-expanding) body it was handed, so that
// iterator references inside dynamic blocks still resolve. Bodies from JSON
// files have no such syntax; their content is read as attributes, where a
// nested block is already a list of objects.

// indexBodies records every native-syntax body of a file by the range HCL
// reports as its MissingItemRange, which wrapped bodies pass through.
func indexBodies(body hcl.Body, into map[hcl.Range]*hclsyntax.Body) {
	syn, ok := body.(*hclsyntax.Body)
	if !ok {
		return
	}
	_ = hclsyntax.VisitAll(syn, func(n hclsyntax.Node) hcl.Diagnostics {
		if b, ok := n.(*hclsyntax.Body); ok {
			into[b.MissingItemRange()] = b
		}
		return nil
	})
}

// attributes returns the attributes of a body that may hold only attributes.
func (d *decoder) attributes(body hcl.Body) hcl.Attributes {
	syn := d.bodies[body.MissingItemRange()]
	if syn == nil {
		attrs, diags := body.JustAttributes()
		d.report(diags)
		return attrs
	}
	schema := &hcl.BodySchema{}
	for name := range syn.Attributes {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: name})
	}
	content, diags := body.Content(schema)
	d.report(diags)
	if content == nil {
		return nil
	}
	return content.Attributes
}

// generic decodes a free-form body: attributes become Go values and nested
// blocks become lists of maps under the block type, which is the shape task
// drivers expect for docker's mount {}, logging {} and the like. A labelled
// block nests its body under its labels.
func (d *decoder) generic(body hcl.Body) map[string]any {
	syn := d.bodies[body.MissingItemRange()]
	out := map[string]any{}
	if syn == nil {
		attrs, diags := body.JustAttributes()
		d.report(diags)
		for name, a := range attrs {
			if v, ok := d.eval(a); ok {
				out[name] = goValue(v)
			}
		}
		return out
	}
	content, diags := body.Content(syntaxSchema(syn))
	d.report(diags)
	if content == nil {
		return out
	}
	for name, a := range content.Attributes {
		if v, ok := d.eval(a); ok {
			out[name] = goValue(v)
		}
	}
	for _, b := range content.Blocks {
		var entry any = d.generic(b.Body)
		for i := len(b.Labels) - 1; i >= 0; i-- {
			entry = map[string]any{b.Labels[i]: entry}
		}
		list, _ := out[b.Type].([]any)
		out[b.Type] = append(list, entry)
	}
	return out
}

// syntaxSchema lists what a native-syntax body holds, with dynamic blocks
// counted under the type they generate.
func syntaxSchema(syn *hclsyntax.Body) *hcl.BodySchema {
	schema := &hcl.BodySchema{}
	for name := range syn.Attributes {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: name})
	}
	seen := map[string]bool{}
	for _, b := range syn.Blocks {
		typ, labels := b.Type, len(b.Labels)
		if typ == "dynamic" && len(b.Labels) == 1 {
			typ, labels = b.Labels[0], 0
		}
		if seen[typ] {
			continue
		}
		seen[typ] = true
		schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: typ, LabelNames: make([]string, labels)})
	}
	return schema
}

// goValue converts a known cty value into plain Go values: string, bool,
// int64 (whole numbers) or float64, []any and map[string]any.
func goValue(v cty.Value) any {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString()
	case ty == cty.Bool:
		return v.True()
	case ty == cty.Number:
		return goNumber(v.AsBigFloat())
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		out := make([]any, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, goValue(e))
		}
		return out
	case ty.IsMapType() || ty.IsObjectType():
		out := make(map[string]any, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = goValue(e)
		}
		return out
	}
	return nil
}

func goNumber(bf *big.Float) any {
	if bf.IsInt() {
		if i, acc := bf.Int64(); acc == big.Exact {
			return i
		}
	}
	f, _ := bf.Float64()
	return f
}

// anyMap is the attribute form of a free-form block (config = { ... }).
func (d *decoder) anyMap(p *map[string]any) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		v, ok := d.eval(a)
		if !ok {
			return
		}
		v = singleObject(v)
		if !v.Type().IsObjectType() && !v.Type().IsMapType() {
			d.errorf(a.Expr.Range(), "Incorrect attribute value type", "%q must be an object", a.Name)
			return
		}
		m, _ := goValue(v).(map[string]any)
		mergeAny(p, m)
	}
}

// anyMapBlock is the block form of a free-form block (config { ... }).
func (d *decoder) anyMapBlock(p *map[string]any) func(*hcl.Block) {
	return func(b *hcl.Block) { mergeAny(p, d.generic(b.Body)) }
}

func mergeAny(p *map[string]any, m map[string]any) {
	if *p == nil {
		*p = map[string]any{}
	}
	for k, v := range m {
		(*p)[k] = v
	}
}

// freeForm declares a name holding a free-form map, as attribute or block.
func (d *decoder) freeForm(name string, p *map[string]any) field {
	return either(name, d.anyMap(p), d.anyMapBlock(p))
}
