package roam_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// layers is the content of layers.json: the parts of the repository, which
// parts each may import, and the pairs that must never meet. docs/layering.md
// explains it for contributors.
type layers struct {
	About []string `json:"about"`
	// TestSupport are parts any package's tests may import.
	TestSupport []string `json:"test_support"`
	Parts       []part   `json:"parts"`
	Never       []never  `json:"never"`
}

// part is a package path prefix relative to the module ("client"): the
// package and every package below it that no longer part claims.
type part struct {
	Part string `json:"part"`
	Says string `json:"says"`
	// Planned, when set, says what will add the part's first package; until
	// then the part may name no package.
	Planned string `json:"planned"`
	// Uses are the parts the part's code may import directly, besides itself.
	Uses []string `json:"uses"`
	Why  string   `json:"why"`
	// TestUses are the further parts its tests may import directly.
	TestUses []string `json:"test_uses"`
	TestsWhy string   `json:"tests_why"`
}

// never says no package under From may depend on one under To, at any depth.
// The rule binds the package's tests' dependencies as well unless CodeOnly
// says why they are exempt.
type never struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Why      string `json:"why"`
	CodeOnly string `json:"code_only"`
}

// goPackage is the part of a `go list -json` record the repository tests read.
type goPackage struct {
	ImportPath   string
	Doc          string
	Imports      []string // direct imports of the package's code
	Deps         []string // every package its code depends on, at any depth
	TestImports  []string // direct imports of its _test.go files in the package
	XTestImports []string // direct imports of its _test.go files in package <name>_test
}

// readLayers reads a layers file, refusing unknown keys so a misspelt
// "code_only" cannot silently widen a rule.
func readLayers(path string) (*layers, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseLayers(raw)
}

func parseLayers(raw []byte) (*layers, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var l layers
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("layers: %w", err)
	}
	return &l, nil
}

// under reports whether package path pkg is prefix or below it.
func under(pkg, prefix string) bool {
	return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}

// checker holds one package graph (module-relative paths) and one layers file.
type checker struct {
	l      *layers
	module string
	pkgs   map[string]goPackage // by module-relative path
	paths  []string             // sorted keys of pkgs
	parts  map[string]*part     // by prefix
}

// checkLayers returns every way pkgs break l, one sentence each, in a stable
// order; none means the graph keeps the layering.
func checkLayers(l *layers, module string, pkgs []goPackage) []string {
	c := &checker{l: l, module: module, pkgs: map[string]goPackage{}, parts: map[string]*part{}}
	for _, p := range pkgs {
		// The module root holds only the repository tests.
		if p.ImportPath == module {
			continue
		}
		r := c.rel(p.ImportPath)
		c.pkgs[r] = p
		c.paths = append(c.paths, r)
	}
	slices.Sort(c.paths)
	var out []string
	out = append(out, c.checkFile()...)
	out = append(out, c.checkNames()...)
	for _, r := range c.paths {
		out = append(out, c.checkPackage(r)...)
	}
	return out
}

// rel is path relative to the module, or "" when it is not one of ours.
func (c *checker) rel(path string) string {
	r, ok := strings.CutPrefix(path, c.module+"/")
	if !ok {
		return ""
	}
	return r
}

// ours keeps the module-relative form of those of paths that are ours.
func (c *checker) ours(paths []string) []string {
	var out []string
	for _, p := range paths {
		if r := c.rel(p); r != "" {
			out = append(out, r)
		}
	}
	return out
}

// checkFile reports mistakes inside the layers file itself: a duplicate
// part, a rule without its reason, a reference to a part not declared.
func (c *checker) checkFile() []string {
	var out []string
	for i := range c.l.Parts {
		p := &c.l.Parts[i]
		if c.parts[p.Part] != nil {
			out = append(out, fmt.Sprintf("layers.json: part %q is declared twice", p.Part))
		}
		c.parts[p.Part] = p
	}
	declared := func(what string, names []string) {
		for _, n := range names {
			if c.parts[n] == nil {
				out = append(out, fmt.Sprintf("layers.json: %s names %q, which is no declared part", what, n))
			}
		}
	}
	declared("test_support", c.l.TestSupport)
	for _, p := range c.l.Parts {
		if p.Part == "" || p.Says == "" || p.Why == "" || (len(p.TestUses) > 0 && p.TestsWhy == "") {
			out = append(out, fmt.Sprintf("layers.json: part %q needs a name, says, why (and tests_why with test_uses)", p.Part))
		}
		declared("part "+p.Part+" uses", p.Uses)
		declared("part "+p.Part+" test_uses", p.TestUses)
	}
	for _, n := range c.l.Never {
		if n.Why == "" {
			out = append(out, fmt.Sprintf("layers.json: never %s -> %s needs a why", n.From, n.To))
		}
	}
	return out
}

// checkNames reports parts and rules that name no package: a rename or a
// removal left the rule guarding nothing. A planned part must name none,
// and a rule may name a package to come when a planned part covers it.
func (c *checker) checkNames() []string {
	var out []string
	for _, p := range c.l.Parts {
		pkgs := c.members(p.Part)
		switch {
		case p.Planned == "" && len(pkgs) == 0:
			out = append(out, fmt.Sprintf("part %s names no package: it was moved or removed (fix layers.json, or mark the part planned)", p.Part))
		case p.Planned != "" && len(pkgs) > 0:
			out = append(out, fmt.Sprintf("part %s is marked planned (%s) but holds %s: it has landed, drop planned from layers.json", p.Part, p.Planned, pkgs[0]))
		}
	}
	for _, n := range c.l.Never {
		for _, prefix := range []string{n.From, n.To} {
			if !c.exists(prefix) && !c.planned(prefix) {
				out = append(out, fmt.Sprintf("never %s -> %s names %s, which holds no package and no planned part", n.From, n.To, prefix))
			}
		}
	}
	return out
}

// members are the packages that belong to the part with this prefix.
func (c *checker) members(prefix string) []string {
	var out []string
	for _, r := range c.paths {
		if p := c.partOf(r); p != nil && p.Part == prefix {
			out = append(out, r)
		}
	}
	return out
}

func (c *checker) exists(prefix string) bool {
	return slices.ContainsFunc(c.paths, func(r string) bool { return under(r, prefix) })
}

// planned reports whether a planned part covers prefix (or lies below it).
func (c *checker) planned(prefix string) bool {
	return slices.ContainsFunc(c.l.Parts, func(p part) bool {
		return p.Planned != "" && (under(prefix, p.Part) || under(p.Part, prefix))
	})
}

// partOf is the part with the longest prefix that holds pkg, or nil: a rule
// on client covers client/allocrunner unless a part client/allocrunner exists.
func (c *checker) partOf(pkg string) *part {
	var best *part
	for i := range c.l.Parts {
		p := &c.l.Parts[i]
		if under(pkg, p.Part) && (best == nil || len(p.Part) > len(best.Part)) {
			best = p
		}
	}
	return best
}

// checkPackage applies every rule to one package and its tests.
func (c *checker) checkPackage(r string) []string {
	p := c.partOf(r)
	if p == nil {
		return []string{fmt.Sprintf("%s belongs to no part: add it to layers.json", r)}
	}
	pkg := c.pkgs[r]
	var out []string
	for _, imp := range c.ours(pkg.Imports) {
		if !c.may(p, imp, false) {
			out = append(out, fmt.Sprintf("%s imports %s: part %s may import only %s: %s", r, imp, p.Part, list(p.Uses), p.Why))
		}
	}
	testImps := c.testImports(r)
	for _, imp := range testImps {
		if !c.may(p, imp, true) {
			out = append(out, fmt.Sprintf("%s's tests import %s: part %s's tests may import only %s: %s", r, imp, p.Part,
				list(slices.Concat(p.Uses, p.TestUses, c.l.TestSupport)), orIf(p.TestsWhy, p.Why)))
		}
	}
	for _, n := range c.l.Never {
		if !under(r, n.From) {
			continue
		}
		// A test closure that breaks a rule the code already breaks is the
		// same fault: it is reported once, on the code.
		if c.anyUnder(c.ours(pkg.Deps), n.To) {
			d, chain := c.nearest([]string{r}, false, n.To)
			out = append(out, fmt.Sprintf("%s depends on %s (%s): never %s -> %s: %s", r, d, chain, n.From, n.To, n.Why))
		} else if n.CodeOnly == "" && c.anyUnder(c.closure(testImps), n.To) {
			d, chain := c.nearest(testImps, true, n.To)
			out = append(out, fmt.Sprintf("%s's tests depend on %s (%s): never %s -> %s, tests included: %s", r, d, chain, n.From, n.To, n.Why))
		}
	}
	return out
}

// may reports whether part p (its tests, when forTests) may import imp
// directly. An import of a package in no part is reported on that package.
func (c *checker) may(p *part, imp string, forTests bool) bool {
	q := c.partOf(imp)
	if q == nil || q == p || slices.Contains(p.Uses, q.Part) {
		return true
	}
	return forTests && (slices.Contains(p.TestUses, q.Part) || slices.Contains(c.l.TestSupport, q.Part))
}

// testImports are the packages of ours the tests of r import, other than r.
func (c *checker) testImports(r string) []string {
	pkg := c.pkgs[r]
	var out []string
	for _, imp := range c.ours(slices.Concat(pkg.TestImports, pkg.XTestImports)) {
		if imp != r && !slices.Contains(out, imp) {
			out = append(out, imp)
		}
	}
	slices.Sort(out)
	return out
}

// closure is roots and everything they depend on, ours only, sorted.
func (c *checker) closure(roots []string) []string {
	var out []string
	for _, r := range roots {
		out = append(out, r)
		out = append(out, c.ours(c.pkgs[r].Deps)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (c *checker) anyUnder(pkgs []string, prefix string) bool {
	return slices.ContainsFunc(pkgs, func(d string) bool { return under(d, prefix) })
}

// nearest follows imports breadth first from roots to the closest package
// under prefix and returns it with its import chain, so a failure shows
// which import to cut: "scheduler -> structs -> client". The roots
// themselves count when rootsCount (a test's imports), not otherwise (a
// package is not its own dependency).
func (c *checker) nearest(roots []string, rootsCount bool, prefix string) (string, string) {
	prev := map[string]string{}
	for _, r := range roots {
		prev[r] = ""
	}
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if under(cur, prefix) && (rootsCount || prev[cur] != "") {
			chain := []string{cur}
			for p := prev[cur]; p != ""; p = prev[p] {
				chain = append([]string{p}, chain...)
			}
			return cur, strings.Join(chain, " -> ")
		}
		for _, imp := range c.ours(c.pkgs[cur].Imports) {
			if _, seen := prev[imp]; !seen {
				prev[imp] = cur
				queue = append(queue, imp)
			}
		}
	}
	// go list's Deps saw a dependency the Imports do not lead to.
	return prefix, "no import chain in the records"
}

func list(parts []string) string {
	if len(parts) == 0 {
		return "nothing of ours"
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func orIf(s, otherwise string) string {
	if s != "" {
		return s
	}
	return otherwise
}
