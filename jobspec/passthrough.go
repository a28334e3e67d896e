package jobspec

import (
	"sort"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Runtime references such as ${NOMAD_PORT_http} or ${attr.kernel.name} are not
// errors in a job file: they are interpolated later, on the server or the
// client. The parser's context only defines var, local and functions, so before
// evaluating an expression we look at the variables it refers to and, for every
// root the context does not define, add a placeholder value shaped like the
// reference whose leaves are the reference's own ${...} text. Evaluating the
// expression then yields that text where the reference stood, whether it is
// alone, mixed with literal text and other references, in a heredoc, or reached
// through attribute and index steps.
//
// A placeholder is an object tree, because HCL indexes objects by string key
// with either syntax: attr.kernel.name, env["a...b"] and foo[0] all resolve.

// placeholderNode is one step of the placeholder tree.
type placeholderNode struct {
	text     string // the reference up to this step, without ${ }
	children map[string]*placeholderNode
}

// passthroughContext returns ctx, or a child of it defining placeholders for
// the roots of vars that ctx does not define. var and local are never
// placeholders: a reference to an undeclared variable is an error.
func passthroughContext(ctx *hcl.EvalContext, vars []hcl.Traversal) *hcl.EvalContext {
	roots := map[string]*placeholderNode{}
	for _, tr := range vars {
		if len(tr) == 0 {
			continue
		}
		name := tr.RootName()
		if name == "var" || name == "local" || defined(ctx, name) {
			continue
		}
		node := roots[name]
		if node == nil {
			node = &placeholderNode{text: name}
			roots[name] = node
		}
		node.add(tr[1:])
	}
	if len(roots) == 0 {
		return ctx
	}
	child := ctx.NewChild()
	child.Variables = make(map[string]cty.Value, len(roots))
	for name, node := range roots {
		child.Variables[name] = node.value()
	}
	return child
}

// defined reports whether ctx or one of its parents defines name.
func defined(ctx *hcl.EvalContext, name string) bool {
	for c := ctx; c != nil; c = c.Parent() {
		if _, ok := c.Variables[name]; ok {
			return true
		}
	}
	return false
}

// add extends the tree with the remaining steps of a traversal. Steps whose
// key is not a literal (splats) end the path: the reference text so far is
// the best we can keep.
func (n *placeholderNode) add(steps hcl.Traversal) {
	for _, step := range steps {
		key, text, ok := stepKey(step)
		if !ok {
			return
		}
		if n.children == nil {
			n.children = map[string]*placeholderNode{}
		}
		next := n.children[key]
		if next == nil {
			next = &placeholderNode{text: n.text + text}
			n.children[key] = next
		}
		n = next
	}
}

// stepKey returns the object key a traversal step selects and the source-like
// text of the step.
func stepKey(step hcl.Traverser) (key, text string, ok bool) {
	switch s := step.(type) {
	case hcl.TraverseAttr:
		return s.Name, "." + s.Name, true
	case hcl.TraverseIndex:
		return indexKey(s.Key)
	}
	return "", "", false
}

func indexKey(k cty.Value) (key, text string, ok bool) {
	if k.IsNull() || !k.IsKnown() {
		return "", "", false
	}
	switch k.Type() {
	case cty.String:
		s := k.AsString()
		return s, "[" + strconv.Quote(s) + "]", true
	case cty.Number:
		bf := k.AsBigFloat()
		s := bf.Text('f', -1)
		return s, "[" + s + "]", true
	}
	return "", "", false
}

// value builds the placeholder: a string for a leaf, an object otherwise.
func (n *placeholderNode) value() cty.Value {
	if len(n.children) == 0 {
		return cty.StringVal("${" + n.text + "}")
	}
	keys := make([]string, 0, len(n.children))
	for k := range n.children {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make(map[string]cty.Value, len(keys))
	for _, k := range keys {
		attrs[k] = n.children[k].value()
	}
	return cty.ObjectVal(attrs)
}
