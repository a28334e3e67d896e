package structs

import (
	"fmt"
	"slices"
	"text/template/parse"
)

// MaxTemplateCallDepth bounds how deeply templates defined in one template's
// text may call each other ({{ template }}, {{ block }}, executeTemplate).
//
// Why a static bound: the client renders inside the agent, and a template
// that calls itself through executeTemplate starts a fresh text/template
// execution at each level, so Go's own depth check never fires and the
// agent dies of a stack overflow (a fatal error no recover catches), again
// after every restart. Refusing any cycle in the call graph and bounding the
// longest chain makes that impossible rather than caught.
const MaxTemplateCallDepth = 32

// checkTemplateCalls refuses an executeTemplate whose name is not a quoted
// string (its target cannot be known before it runs), any template that can
// reach itself, and call chains deeper than MaxTemplateCallDepth.
func checkTemplateCalls(trees map[string]*parse.Tree) []TemplateProblem {
	g := &callGraph{trees: trees, calls: map[string][]templateCall{}}
	var out []TemplateProblem
	for _, name := range sortedTreeNames(trees) {
		tree := trees[name]
		walkCalls(tree.Root, func(c templateCall) {
			if c.target == "" {
				line, col := templatePos(tree, c.node)
				out = append(out, TemplateProblem{Line: line, Column: col,
					Message: "executeTemplate takes the template's name as a quoted string in roam, so that a template calling itself can be refused before it runs"})
				return
			}
			c.tree = tree
			g.calls[name] = append(g.calls[name], c)
		})
	}
	return append(out, g.check()...)
}

// templateCall is one call of a defined template.
type templateCall struct {
	target string // "" for an executeTemplate with a computed name
	node   parse.Node
	tree   *parse.Tree
}

type callGraph struct {
	trees map[string]*parse.Tree
	calls map[string][]templateCall
}

// check walks the graph from every template and reports the first call
// that closes a cycle or exceeds the depth bound, once per call site.
func (g *callGraph) check() []TemplateProblem {
	depth := map[string]int{} // the longest chain below a template, once known
	reported := map[parse.Node]bool{}
	var out []TemplateProblem
	var visit func(name string, path []string) int
	visit = func(name string, path []string) int {
		if d, ok := depth[name]; ok {
			return d
		}
		longest := 0
		for _, c := range g.calls[name] {
			if _, defined := g.trees[c.target]; !defined {
				continue // an undefined name fails at render, without recursion
			}
			if i := slices.Index(path, c.target); i >= 0 || c.target == name {
				if !reported[c.node] {
					reported[c.node] = true
					out = append(out, g.problem(c, fmt.Sprintf("template %q calls itself (%s); recursive templates are refused", c.target, cycleText(append(path, name), c.target))))
				}
				continue
			}
			d := 1 + visit(c.target, append(path, name))
			if d > MaxTemplateCallDepth && !reported[c.node] {
				reported[c.node] = true
				out = append(out, g.problem(c, fmt.Sprintf("templates call each other %d deep from here; the limit is %d", d, MaxTemplateCallDepth)))
			}
			longest = max(longest, d)
		}
		depth[name] = longest
		return longest
	}
	for _, name := range sortedTreeNames(g.trees) {
		visit(name, nil)
	}
	return out
}

func (g *callGraph) problem(c templateCall, msg string) TemplateProblem {
	line, col := templatePos(c.tree, c.node)
	return TemplateProblem{Line: line, Column: col, Message: msg}
}

// cycleText is the chain from target back to itself, for the message.
func cycleText(path []string, target string) string {
	i := max(slices.Index(path, target), 0)
	s := ""
	for _, n := range path[i:] {
		if n == templateTreeName {
			n = "(main)"
		}
		s += fmt.Sprintf("%q -> ", n)
	}
	return s + fmt.Sprintf("%q", target)
}

func sortedTreeNames(trees map[string]*parse.Tree) []string {
	names := make([]string, 0, len(trees))
	for name := range trees {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// walkCalls calls fn for every {{ template }} and every executeTemplate in
// the tree; an executeTemplate not followed by a quoted name has target "".
func walkCalls(n parse.Node, fn func(templateCall)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkCalls(c, fn)
		}
	case *parse.ActionNode:
		walkCalls(n.Pipe, fn)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkCalls(c, fn)
		}
	case *parse.CommandNode:
		walkCommandCalls(n, fn)
	case *parse.IfNode:
		walkBranchCalls(&n.BranchNode, fn)
	case *parse.RangeNode:
		walkBranchCalls(&n.BranchNode, fn)
	case *parse.WithNode:
		walkBranchCalls(&n.BranchNode, fn)
	case *parse.TemplateNode:
		fn(templateCall{target: n.Name, node: n})
		walkCalls(n.Pipe, fn)
	}
}

// walkCommandCalls finds executeTemplate at the head of a command (with its
// name as the next argument) or anywhere else (a name that cannot be known).
func walkCommandCalls(n *parse.CommandNode, fn func(templateCall)) {
	for i, a := range n.Args {
		switch a := a.(type) {
		case *parse.IdentifierNode:
			if a.Ident != "executeTemplate" {
				continue
			}
			target := ""
			if i == 0 && len(n.Args) > 1 {
				if s, ok := n.Args[1].(*parse.StringNode); ok {
					target = s.Text
				}
			}
			fn(templateCall{target: target, node: a})
		case *parse.PipeNode:
			walkCalls(a, fn)
		case *parse.ChainNode:
			walkCalls(a.Node, fn)
		}
	}
}

func walkBranchCalls(b *parse.BranchNode, fn func(templateCall)) {
	walkCalls(b.Pipe, fn)
	walkCalls(b.List, fn)
	walkCalls(b.ElseList, fn)
}
