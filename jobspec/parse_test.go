package jobspec

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected .json and .err files from the current output")

// TestGolden parses every testdata/*.hcl file and compares the result with
// the file's .json (the parsed job) or .err (the error text). An optional
// .opts file holds parse options, one per line:
//
//	var NAME=VALUE
//	var-file PATH
//	env NAME=VALUE
//	strict
//	allow-fs
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".hcl")
		t.Run(name, func(t *testing.T) {
			got, isErr := parseGolden(t, path)
			base := strings.TrimSuffix(path, ".hcl")
			wantFile, otherFile := base+".json", base+".err"
			if isErr {
				wantFile, otherFile = otherFile, wantFile
			}
			if *update {
				writeGolden(t, wantFile, otherFile, got)
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("parse gave %s, but %s is missing (run with -update to create it):\n%s",
					map[bool]string{true: "an error", false: "a job"}[isErr], wantFile, got)
			}
			if string(want) != got {
				t.Errorf("%s differs from the output (run with -update to accept):\n--- want\n%s\n--- got\n%s", wantFile, want, got)
			}
		})
	}
}

// parseGolden parses one golden input and renders the job as indented JSON
// or the error as text.
func parseGolden(t *testing.T, path string) (string, bool) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := readOpts(t, strings.TrimSuffix(path, ".hcl")+".opts")
	job, err := Parse(filepath.Base(path), src, opts)
	if err != nil {
		var perr *Error
		if !errors.As(err, &perr) {
			t.Fatalf("error is %T, want *Error: %v", err, err)
		}
		return err.Error() + "\n", true
	}
	out, err := json.MarshalIndent(job, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out) + "\n", false
}

func writeGolden(t *testing.T, want, other, content string) {
	t.Helper()
	if err := os.WriteFile(want, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(other); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

func readOpts(t *testing.T, path string) ParseOptions {
	t.Helper()
	var opts ParseOptions
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return opts
	}
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, value, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		switch key {
		case "":
		case "var":
			k, v, _ := strings.Cut(value, "=")
			if opts.Vars == nil {
				opts.Vars = map[string]string{}
			}
			opts.Vars[k] = v
		case "var-file":
			opts.VarFiles = append(opts.VarFiles, value)
		case "env":
			opts.Env = append(opts.Env, value)
		case "strict":
			opts.Strict = true
		case "allow-fs":
			opts.AllowFS = true
		default:
			t.Fatalf("%s: unknown option %q", path, key)
		}
	}
	return opts
}

// TestErrorsCarryPositions checks the shape of every expected error: one line
// per problem, each starting with file:line:column.
func TestErrorsCarryPositions(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.err")
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if !positionRe.MatchString(line) {
				t.Errorf("%s: line without file:line:column: %q", path, line)
			}
		}
	}
}

// TestGoldenJobsValidate canonicalizes and validates every job the golden
// inputs parse to: the inputs are meant to be valid jobs, so this exercises
// Canonicalize and Validate on every block the parser knows.
func TestGoldenJobsValidate(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.hcl")
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		job, err := Parse(filepath.Base(path), src, readOpts(t, strings.TrimSuffix(path, ".hcl")+".opts"))
		if err != nil {
			continue // error cases are covered by TestGolden
		}
		job.Canonicalize()
		if err := job.Validate(); err != nil {
			t.Errorf("%s does not validate:\n%v", path, err)
		}
	}
}
