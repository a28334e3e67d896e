package server

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// applyCodeGlobs are the files whose code runs while a Raft entry is
// applied: the FSM and the whole state store.
var applyCodeGlobs = []string{"fsm*.go", "../state/*.go"}

// forbiddenInApply lists, per import path, what apply code must not use:
// the named functions, or (nil) anything of the package. Each reads the clock
// or randomness, which differ from one server to the next.
var forbiddenInApply = map[string][]string{
	"time":                            {"Now", "Since", "Until", "After", "AfterFunc", "Tick", "NewTimer", "NewTicker", "Sleep"},
	"math/rand":                       nil,
	"math/rand/v2":                    nil,
	"crypto/rand":                     nil,
	"github.com/google/uuid":          nil,
	"github.com/hashicorp/go-uuid":    nil,
	"github.com/roam-sh/roam/structs": {"GenerateUUID"},
}

// TestApplyCodeReadsNoClockOrRandomness is the cheap guard beside
// TestFSMApplyIsDeterministic: it parses the FSM and the state store and
// fails on any use of the clock, random numbers or ID generation, so that a
// new one is caught even where the recorded scenario does not reach. Times
// and IDs are stamped where the entry is built (endpoints, plan applier,
// leader loops, heartbeats) and carried in it.
func TestApplyCodeReadsNoClockOrRandomness(t *testing.T) {
	files := applyCodeFiles(t)
	if len(files) < 5 {
		t.Fatalf("found only %v: the globs no longer match the FSM and the state store", files)
	}
	var found []string
	for _, f := range files {
		uses, err := nondeterministicUses(f)
		if err != nil {
			t.Fatal(err)
		}
		found = append(found, uses...)
	}
	if len(found) > 0 {
		t.Fatalf("apply code reads the clock or randomness; stamp the value where the entry is built and carry it in the entry:\n%s",
			strings.Join(found, "\n"))
	}
}

func applyCodeFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, g := range applyCodeGlobs {
		matches, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			if !strings.HasSuffix(m, "_test.go") {
				out = append(out, m)
			}
		}
	}
	return out
}

// nondeterministicUses returns "file:line: use" for every forbidden use in
// one file: a forbidden import, or a forbidden selector of an allowed one
// (called or passed as a value).
func nondeterministicUses(path string) ([]string, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	var out []string
	names := map[string][]string{} // local import name → forbidden selectors
	for _, imp := range file.Imports {
		ipath, _ := strconv.Unquote(imp.Path.Value)
		sels, listed := forbiddenInApply[ipath]
		if !listed {
			continue
		}
		if sels == nil {
			out = append(out, fmt.Sprintf("%s: imports %s", fset.Position(imp.Pos()), ipath))
			continue
		}
		names[localName(imp, ipath)] = sels
	}
	ast.Inspect(file, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if pkg, ok := sel.X.(*ast.Ident); ok && slices.Contains(names[pkg.Name], sel.Sel.Name) {
			out = append(out, fmt.Sprintf("%s: %s.%s", fset.Position(sel.Pos()), pkg.Name, sel.Sel.Name))
		}
		return true
	})
	return out, nil
}

func localName(imp *ast.ImportSpec, path string) string {
	if imp.Name != nil {
		return imp.Name.Name
	}
	return path[strings.LastIndex(path, "/")+1:]
}
