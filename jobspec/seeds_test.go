package jobspec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedDir holds the repository's copies of the seed documents' job files
// (kept identical to ../shared/seeds/jobs by the root's TestSeedJobsMatchShared).
const seedDir = "../examples/seeds"

// TestSeeds parses, canonicalizes and validates every seed job file and
// compares the canonical job with testdata/seeds/<name>.json.
func TestSeeds(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(seedDir, "*.nomad"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed job files in %s: %v", seedDir, err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".nomad")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			job, err := Parse(filepath.Base(path), src, ParseOptions{})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			job.Canonicalize()
			if err := job.Validate(); err != nil {
				t.Fatalf("validate:\n%v", err)
			}
			out, err := json.MarshalIndent(job, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "seeds", name+".json")
			if *update {
				writeGolden(t, golden, golden+".none", string(out)+"\n")
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(want) != string(out)+"\n" {
				t.Errorf("%s differs (run with -update to accept):\n%s", golden, out)
			}
		})
	}
}

// TestExamples parses and validates the job files the README's tutorial
// runs (examples/).
func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "*.nomad"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example job files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			job, err := Parse(filepath.Base(path), src, ParseOptions{})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			job.Canonicalize()
			if err := job.Validate(); err != nil {
				t.Fatalf("validate:\n%v", err)
			}
		})
	}
}
