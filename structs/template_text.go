package structs

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"
)

// TemplateProblem is one problem in a template's text, at a 1-based line and
// column of that text (0 when the parser gave none).
type TemplateProblem struct {
	Line, Column int
	Message      string
}

func (p TemplateProblem) String() string {
	if p.Column > 0 {
		return fmt.Sprintf("line %d, column %d: %s", p.Line, p.Column, p.Message)
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Message)
}

// MaxTemplateBytes bounds a template's text (data, or a source file read on
// the client): the client parses and runs it inside the agent.
const MaxTemplateBytes = 1 << 20

// CheckTemplateText parses a template's text as the client will (Go's
// text/template syntax, with the given delimiters; "" means {{ and }}) and
// returns its syntax errors and every call of a function roam refuses or
// does not know, so that a job fails at validation rather than leaving its
// task waiting on data roam can never serve.
func CheckTemplateText(text, left, right string) []TemplateProblem {
	if len(text) > MaxTemplateBytes {
		return []TemplateProblem{{Line: 1, Message: fmt.Sprintf("the template is %d bytes long; the limit is %d", len(text), MaxTemplateBytes)}}
	}
	trees := map[string]*parse.Tree{}
	t := parse.New(templateTreeName)
	t.Mode = parse.SkipFuncCheck | parse.ParseComments
	if _, err := t.Parse(text, left, right, trees); err != nil {
		return []TemplateProblem{syntaxProblem(err)}
	}
	var out []TemplateProblem
	names := make([]string, 0, len(trees))
	for name := range trees {
		names = append(names, name)
	}
	slices.Sort(names) // a stable order of problems across runs
	for _, name := range names {
		tree := trees[name]
		walkTemplate(tree.Root, func(n *parse.IdentifierNode) {
			msg := templateFuncProblem(n.Ident)
			if msg == "" {
				return
			}
			line, col := templatePos(tree, n)
			out = append(out, TemplateProblem{Line: line, Column: col, Message: msg})
		})
	}
	return append(out, checkTemplateCalls(trees)...)
}

// templateTreeName names the parsed text in the parser's messages, which
// are rewritten to say "line N".
const templateTreeName = "roam-template-data"

// parseErrLine matches text/template/parse's "template: NAME:LINE: message".
var parseErrLine = regexp.MustCompile(`^template: [^:]*:(\d+): (.*)$`)

func syntaxProblem(err error) TemplateProblem {
	m := parseErrLine.FindStringSubmatch(err.Error())
	if m == nil {
		return TemplateProblem{Line: 1, Message: err.Error()}
	}
	line, _ := strconv.Atoi(m[1])
	return TemplateProblem{Line: line, Message: strings.ReplaceAll(m[2], templateTreeName+":", "line ")}
}

// templatePos is the node's line and column, from the tree's error context
// ("t:LINE:COL").
func templatePos(tree *parse.Tree, n parse.Node) (int, int) {
	loc, _ := tree.ErrorContext(n)
	parts := strings.Split(loc, ":")
	if len(parts) < 3 {
		return 1, 0
	}
	line, _ := strconv.Atoi(parts[len(parts)-2])
	col, _ := strconv.Atoi(parts[len(parts)-1])
	return line, col + 1 // the context counts bytes from 0
}

// walkTemplate calls fn on every identifier (function name) in the tree.
func walkTemplate(n parse.Node, fn func(*parse.IdentifierNode)) {
	switch n := n.(type) {
	case nil:
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkTemplate(c, fn)
		}
	case *parse.ActionNode:
		walkTemplate(n.Pipe, fn)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkTemplate(c, fn)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			walkTemplate(a, fn)
		}
	case *parse.ChainNode:
		walkTemplate(n.Node, fn)
	case *parse.IdentifierNode:
		fn(n)
	case *parse.IfNode:
		walkBranch(&n.BranchNode, fn)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, fn)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, fn)
	case *parse.TemplateNode:
		walkTemplate(n.Pipe, fn)
	}
}

func walkBranch(b *parse.BranchNode, fn func(*parse.IdentifierNode)) {
	walkTemplate(b.Pipe, fn)
	walkTemplate(b.List, fn)
	walkTemplate(b.ElseList, fn)
}

// templateFuncProblem says what is wrong with calling name in a template,
// or "" when roam serves it.
func templateFuncProblem(name string) string {
	if why, refused := refusedTemplateFuncs()[name]; refused {
		return fmt.Sprintf("function %q is not available in roam: %s", name, why)
	}
	if why, refused := refusedSprigFuncs()[name]; refused {
		return fmt.Sprintf("function %q is not available in roam: %s", name, why)
	}
	if isSprigFunc(name) || slices.Contains(TemplateFuncs(), name) {
		return ""
	}
	return fmt.Sprintf("function %q is not defined", name)
}

// Why each refused function is refused, and what to use instead (variables,
// read with nomadVar, replace Consul KV and Vault). A function
// listed here is refused at validation and disabled in the renderer too
// (templates read from a source file are only parsed on the client).
const (
	whyConsulKV    = "roam has no Consul KV store; keep the value in a variable and read it with nomadVar, or pass it in meta or env"
	whyVault       = "roam has no Vault integration; keep secrets in variables and read them with nomadVar"
	whyConsulCA    = "roam does not serve Consul Connect certificates to templates"
	whyConsulEnt   = "roam does not serve Consul partitions, peerings or exported services"
	whyHostEffects = "it runs programs or writes files on the client host outside the task"
	whyConsulNodes = "roam does not serve Consul's node catalog to templates; use nomadService or service for instances and env for the node's own attributes"
)

// refusedTemplateFuncs are the consul-template functions roam refuses, with
// why. Keep in step with TemplateFuncs and template.deniedFuncs.
func refusedTemplateFuncs() map[string]string {
	return map[string]string{
		"key": whyConsulKV, "keyExists": whyConsulKV, "keyOrDefault": whyConsulKV,
		"ls": whyConsulKV, "safeLs": whyConsulKV, "tree": whyConsulKV, "safeTree": whyConsulKV,
		"secret": whyVault, "secrets": whyVault, "pkiCert": whyVault,
		"caLeaf": whyConsulCA, "caRoots": whyConsulCA, "connect": whyConsulCA,
		"exportedServices": whyConsulEnt, "partitions": whyConsulEnt, "peerings": whyConsulEnt,
		"node": whyConsulNodes, "nodes": whyConsulNodes, "datacenters": whyConsulNodes,
		"plugin": whyHostEffects, "writeToFile": whyHostEffects,
	}
}

// RefusedTemplateFuncs lists the functions CheckTemplateText refuses, for
// the renderer to disable them as well.
func RefusedTemplateFuncs() []string {
	out := make([]string, 0, len(refusedTemplateFuncs()))
	for name := range refusedTemplateFuncs() {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// TemplateFuncs lists the functions roam's templates offer (besides the
// sprig_* family): consul-template's, minus the refused ones. A test in
// package template checks the list against the library.
func TemplateFuncs() []string {
	return []string{
		// Catalog and variable reads, served by the local agent.
		"nomadService", "nomadServices", "service", "services",
		"nomadVar", "nomadVarList", "nomadVarListSafe", "nomadVarExists",
		// The task's own environment and files.
		"env", "mustEnv", "envOrDefault", "file",
		// Text, data and arithmetic helpers.
		"scratch", "base64Decode", "base64Encode", "base64URLDecode", "base64URLEncode",
		"byKey", "byPort", "byTag", "byMeta", "contains", "containsAll", "containsAny",
		"containsNone", "containsNotAll", "executeTemplate", "explode", "explodeMap",
		"mergeMap", "mergeMapWithOverride", "in", "indent", "loop", "join", "trim",
		"trimPrefix", "trimSuffix", "trimSpace", "parseBool", "parseFloat", "parseInt",
		"parseJSON", "parseUint", "parseYAML", "regexReplaceAll", "regexMatch",
		"replaceAll", "sha256Hex", "md5sum", "hmacSHA256Hex", "timestamp", "toLower",
		"toJSON", "toJSONPretty", "toUnescapedJSON", "toUnescapedJSONPretty", "toTitle",
		"toTOML", "toUpper", "toYAML", "split", "splitToMap", "sockaddr",
		"add", "subtract", "multiply", "divide", "modulo", "minimum", "maximum",
		"spew_dump", "spew_printf", "spew_sdump", "spew_sprintf",
		// text/template's own.
		"and", "or", "not", "len", "index", "slice", "print", "printf", "println",
		"html", "js", "urlquery", "call", "eq", "ne", "lt", "le", "gt", "ge",
	}
}
