// Package roam_test holds repository-wide tests: the layering rules of the
// house style and the documentation every package must carry.
package roam_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/roam-sh/roam"

type goPackage struct {
	ImportPath string
	Doc        string
	Imports    []string
	Name       string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []goPackage
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// ours returns the module-relative imports of p ("scheduler", "internal/wire").
func ours(p goPackage) []string {
	var out []string
	for _, imp := range p.Imports {
		if imp == module {
			out = append(out, ".")
		} else if rel, ok := strings.CutPrefix(imp, module+"/"); ok {
			out = append(out, rel)
		}
	}
	return out
}

func rel(p goPackage) string {
	r, _ := strings.CutPrefix(p.ImportPath, module+"/")
	return r
}

// layerRules says which of our packages a package may not import, and why.
var layerRules = []struct {
	pkg       string // package, or prefix ending in "/"
	forbidden []string
	allowOnly []string
	why       string
}{
	{pkg: "structs", allowOnly: []string{}, why: "domain types depend on nothing of ours"},
	{pkg: "scheduler", allowOnly: []string{"structs"}, why: "the scheduler is pure: it sees state through an interface and plans through another"},
	{pkg: "state", allowOnly: []string{"structs", "internal/wire"}, why: "the state store knows only the domain types"},
	{pkg: "cli", allowOnly: []string{"api", "jobspec", "structs", "internal/version"}, why: "the CLI talks to agents only through the HTTP API (jobspec to parse files locally)"},
	{pkg: "api", allowOnly: []string{"structs"}, why: "the API client is importable on its own"},
	{pkg: "jobspec", allowOnly: []string{"structs"}, why: "the parser turns files into structs and nothing else"},
	{pkg: "client/", forbidden: []string{"server", "scheduler", "state", "httpapi", "agent"}, why: "clients reach servers only over RPC"},
	{pkg: "drivers/", forbidden: []string{"server", "scheduler", "state", "httpapi", "agent", "client"}, why: "drivers are plugins below the client"},
	{pkg: "server", forbidden: []string{"client", "drivers", "httpapi", "agent", "cli"}, why: "servers never run tasks"},
}

func TestLayering(t *testing.T) {
	for _, p := range listPackages(t) {
		name := rel(p)
		for _, rule := range layerRules {
			match := name == rule.pkg || (strings.HasSuffix(rule.pkg, "/") && (strings.HasPrefix(name, rule.pkg) || name == strings.TrimSuffix(rule.pkg, "/")))
			if !match {
				continue
			}
			for _, imp := range ours(p) {
				if bad(imp, rule.forbidden, rule.allowOnly) {
					t.Errorf("%s imports %s: %s", name, imp, rule.why)
				}
			}
		}
	}
}

func bad(imp string, forbidden, allowOnly []string) bool {
	for _, f := range forbidden {
		if imp == f || strings.HasPrefix(imp, f+"/") {
			return true
		}
	}
	if allowOnly == nil {
		return false
	}
	for _, a := range allowOnly {
		if imp == a {
			return false
		}
	}
	return true
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range listPackages(t) {
		// The module root holds only this test.
		if p.ImportPath != module && p.Doc == "" {
			t.Errorf("%s has no package doc comment (add a doc.go saying what it holds)", p.ImportPath)
		}
	}
}
