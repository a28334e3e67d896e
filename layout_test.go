// Package roam_test holds repository-wide tests: the layering rules of the
// house style, kept as data in layers.json, and the documentation every
// package must carry.
package roam_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/roam-sh/roam"

// listPackages is `go list -json ./...`: every package of the module with its
// direct imports, its dependencies at any depth and its tests' imports.
func listPackages(t *testing.T) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []goPackage
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
}

// TestLayering holds the module's package graph to layers.json.
// TestLayeringCatches (layers_cases_test.go) shows each kind of rule failing.
func TestLayering(t *testing.T) {
	l, err := readLayers("layers.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range checkLayers(l, module, listPackages(t)) {
		t.Error(v)
	}
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range listPackages(t) {
		// The module root holds only this test.
		if p.ImportPath != module && p.Doc == "" {
			t.Errorf("%s has no package doc comment (add a doc.go saying what it holds)", p.ImportPath)
		}
	}
}
