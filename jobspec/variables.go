package jobspec

import (
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// envVarPrefix marks environment variables that set job file variables.
const envVarPrefix = "NOMAD_VAR_"

// variable is one declared input variable and the value it ends up with.
type variable struct {
	name        string
	typ         cty.Type
	value       cty.Value // cty.NilVal until a source sets it
	declRange   hcl.Range
	validations []*hcl.Block
	failed      bool // a source gave an invalid value, already reported
}

// variables declares the job file's variables, fills them from their sources
// in precedence order (default < NOMAD_VAR_ env < var files < -var), checks
// their validation rules and returns them as the object bound to "var".
func (p *parser) variables(ctx *hcl.EvalContext, blocks hcl.Blocks) cty.Value {
	decls := map[string]*variable{}
	for _, b := range blocks {
		switch b.Type {
		case "variable":
			p.declareVariable(ctx, b, decls)
		case "variables":
			p.declareVariables(ctx, b, decls)
		}
	}
	p.varsFromEnv(decls)
	for _, name := range p.opts.VarFiles {
		p.varsFromFile(name, decls)
	}
	p.varsFromFlags(decls)

	values := map[string]cty.Value{}
	for _, name := range sortedKeys(decls) {
		v := decls[name]
		if v.value == cty.NilVal {
			if v.failed {
				continue
			}
			p.report(hcl.Diagnostics{errorf(v.declRange, "Unset variable",
				"variable %q has no default; set it with -var, -var-file or %s%s", name, envVarPrefix, name)})
			continue
		}
		values[name] = v.value
	}
	obj := cty.ObjectVal(values)
	if !p.diags.HasErrors() {
		for _, name := range sortedKeys(decls) {
			p.validateVariable(ctx, decls[name], obj)
		}
	}
	return obj
}

func (p *parser) declare(decls map[string]*variable, v *variable) bool {
	if !hclsyntax.ValidIdentifier(v.name) {
		p.report(hcl.Diagnostics{errorf(v.declRange, "Invalid variable name",
			"%q is not a valid name; use letters, digits, underscores and dashes", v.name)})
		return false
	}
	if prev := decls[v.name]; prev != nil {
		p.report(hcl.Diagnostics{errorf(v.declRange, "Duplicate variable declaration",
			"variable %q was already declared at %s", v.name, at(prev.declRange))})
		return false
	}
	decls[v.name] = v
	return true
}

// declareVariable handles variable "name" { type, default, validation {...} }.
func (p *parser) declareVariable(ctx *hcl.EvalContext, b *hcl.Block, decls map[string]*variable) {
	content, diags := b.Body.Content(&hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
	})
	p.report(diags)
	v := &variable{name: b.Labels[0], typ: cty.DynamicPseudoType, declRange: b.DefRange}
	if a := content.Attributes["type"]; a != nil {
		ty, tdiags := typeexpr.TypeConstraint(a.Expr)
		p.report(tdiags)
		v.typ, v.failed = ty, tdiags.HasErrors()
	}
	if a := content.Attributes["default"]; a != nil {
		val, vdiags := a.Expr.Value(passthroughContext(ctx, a.Expr.Variables()))
		p.report(vdiags)
		if !vdiags.HasErrors() {
			v.value = p.convertVar(v, val, a.Expr.Range())
		}
	}
	for _, vb := range content.Blocks {
		p.checkValidationBlock(vb)
		v.validations = append(v.validations, vb)
	}
	p.declare(decls, v)
}

// declareVariables handles the shorthand variables { a = 1, b = "x" }.
func (p *parser) declareVariables(ctx *hcl.EvalContext, b *hcl.Block, decls map[string]*variable) {
	attrs, diags := b.Body.JustAttributes()
	p.report(diags)
	for _, name := range sortedKeys(attrs) {
		a := attrs[name]
		val, vdiags := a.Expr.Value(passthroughContext(ctx, a.Expr.Variables()))
		p.report(vdiags)
		v := &variable{name: name, typ: cty.DynamicPseudoType, declRange: a.NameRange}
		if !vdiags.HasErrors() {
			v.value = val
		}
		p.declare(decls, v)
	}
}

func (p *parser) checkValidationBlock(b *hcl.Block) {
	_, diags := b.Body.Content(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true}, {Name: "error_message", Required: true},
	}})
	p.report(diags)
}

// convertVar converts a value to the variable's type, reporting at rng.
func (p *parser) convertVar(v *variable, val cty.Value, rng hcl.Range) cty.Value {
	out, err := convert.Convert(val, v.typ)
	if err != nil {
		p.report(hcl.Diagnostics{errorf(rng, "Invalid value for variable",
			"variable %q must be %s: %s", v.name, typeexpr.TypeString(v.typ), err)})
		v.failed = true
		return cty.NilVal
	}
	return out
}

// setFromString sets a variable from a -var flag or environment value: the
// raw string for string (and untyped) variables, otherwise the string read
// as an HCL literal such as ["a", "b"] or 3. Problems are reported at the
// declaration, naming where the value came from.
func (p *parser) setFromString(v *variable, raw, origin string) {
	val := cty.StringVal(raw)
	if v.typ != cty.String && v.typ != cty.DynamicPseudoType {
		expr, diags := hclsyntax.ParseExpression([]byte(raw), origin, hcl.InitialPos)
		if !diags.HasErrors() {
			if lit, vdiags := expr.Value(nil); !vdiags.HasErrors() {
				val = lit
			}
		}
	}
	out, err := convert.Convert(val, v.typ)
	if err != nil {
		p.report(hcl.Diagnostics{errorf(v.declRange, "Invalid value for variable",
			"the value %q given by %s for variable %q is not a valid %s: %s",
			raw, origin, v.name, typeexpr.TypeString(v.typ), err)})
		v.failed = true
		return
	}
	v.value = out
}

func (p *parser) varsFromEnv(decls map[string]*variable) {
	for _, kv := range p.opts.Env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envVarPrefix) {
			continue
		}
		// Undeclared NOMAD_VAR_ variables are ignored: the environment is
		// shared by every job a shell submits.
		if v := decls[strings.TrimPrefix(name, envVarPrefix)]; v != nil {
			p.setFromString(v, value, "environment variable "+name)
		}
	}
}

func (p *parser) varsFromFlags(decls map[string]*variable) {
	for _, name := range sortedKeys(p.opts.Vars) {
		v := decls[name]
		if v == nil {
			p.report(hcl.Diagnostics{errorf(fileStart(p.filename), "Undefined -var variable",
				"a value was given for %q with -var, but the job file declares no variable of that name", name)})
			continue
		}
		p.setFromString(v, p.opts.Vars[name], "-var")
	}
}

// varsFromFile applies one -var-file. Values there are constants: no
// variables, locals or functions.
func (p *parser) varsFromFile(name string, decls map[string]*variable) {
	src, ok := p.opts.VarFileContents[name]
	if !ok {
		var err error
		if src, err = os.ReadFile(name); err != nil {
			p.report(hcl.Diagnostics{errorf(fileStart(name), "Cannot read variables file", "%s", err)})
			return
		}
	}
	file := p.parseFile(name, src)
	if file == nil {
		return
	}
	attrs, diags := file.Body.JustAttributes()
	p.report(diags)
	for _, key := range sortedKeys(attrs) {
		a := attrs[key]
		v := decls[key]
		if v == nil {
			if p.opts.Strict {
				p.report(hcl.Diagnostics{errorf(a.NameRange, "Undefined variable",
					"%q is set in this file, but the job file declares no variable of that name", key)})
			}
			continue
		}
		val, vdiags := a.Expr.Value(nil)
		p.report(vdiags)
		if !vdiags.HasErrors() {
			v.value = p.convertVar(v, val, a.Expr.Range())
		}
	}
}

// validateVariable runs a variable's validation rules with every variable
// in scope.
func (p *parser) validateVariable(ctx *hcl.EvalContext, v *variable, vars cty.Value) {
	vctx := ctx.NewChild()
	vctx.Variables = map[string]cty.Value{"var": vars}
	for _, b := range v.validations {
		attrs, _ := b.Body.JustAttributes()
		cond, msg := attrs["condition"], attrs["error_message"]
		if cond == nil || msg == nil {
			continue
		}
		ok, diags := cond.Expr.Value(vctx)
		p.report(diags)
		if diags.HasErrors() {
			continue
		}
		if ok.IsNull() || ok.Type() != cty.Bool || !ok.IsKnown() {
			p.report(hcl.Diagnostics{errorf(cond.Expr.Range(), "Invalid validation condition",
				"the condition of variable %q must be true or false", v.name)})
			continue
		}
		if ok.True() {
			continue
		}
		text, mdiags := msg.Expr.Value(vctx)
		p.report(mdiags)
		detail := "the value does not satisfy the validation rule"
		if !mdiags.HasErrors() && text.Type() == cty.String && text.IsKnown() && !text.IsNull() {
			detail = text.AsString()
		}
		p.report(hcl.Diagnostics{errorf(cond.Expr.Range(), "Invalid value for variable",
			"variable %q: %s", v.name, detail)})
	}
}

// locals evaluates every locals block. Locals may refer to variables and to
// each other in any order; they are evaluated as their dependencies become
// known, and a cycle is an error.
func (p *parser) locals(ctx *hcl.EvalContext, blocks hcl.Blocks) cty.Value {
	pending := map[string]*hcl.Attribute{}
	for _, b := range blocks {
		if b.Type != "locals" {
			continue
		}
		attrs, diags := b.Body.JustAttributes()
		p.report(diags)
		for _, name := range sortedKeys(attrs) {
			a := attrs[name]
			if prev := pending[name]; prev != nil {
				p.report(hcl.Diagnostics{errorf(a.NameRange, "Duplicate local value",
					"local %q was already defined at %s", name, at(prev.NameRange))})
				continue
			}
			pending[name] = a
		}
	}
	values := map[string]cty.Value{}
	for progress := true; progress && len(pending) > 0; {
		progress = false
		for _, name := range sortedKeys(pending) {
			a := pending[name]
			if waitsOn(a.Expr, pending) {
				continue
			}
			lctx := ctx.NewChild()
			lctx.Variables = map[string]cty.Value{"local": cty.ObjectVal(values)}
			v, diags := a.Expr.Value(passthroughContext(lctx, a.Expr.Variables()))
			p.report(diags)
			values[name] = v
			delete(pending, name)
			progress = true
		}
	}
	for _, name := range sortedKeys(pending) {
		p.report(hcl.Diagnostics{errorf(pending[name].NameRange, "Circular reference in locals",
			"local %q depends on itself through other locals", name)})
	}
	return cty.ObjectVal(values)
}

// waitsOn reports whether expr refers to a local still pending, itself
// included.
func waitsOn(expr hcl.Expression, pending map[string]*hcl.Attribute) bool {
	for _, tr := range expr.Variables() {
		if tr.RootName() != "local" || len(tr) < 2 {
			continue
		}
		var name string
		switch s := tr[1].(type) {
		case hcl.TraverseAttr:
			name = s.Name
		case hcl.TraverseIndex:
			if s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull() {
				name = s.Key.AsString()
			}
		}
		if _, ok := pending[name]; ok {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
