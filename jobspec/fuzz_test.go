package jobspec

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// positionRe is the start of every error line: file:line:column: summary.
var positionRe = regexp.MustCompile(`^[^:\n]+:\d+:\d+: \S`)

// FuzzParse feeds arbitrary sources to Parse. It must never panic, every
// error must carry positions, and a parsed job must survive Canonicalize and
// Validate.
func FuzzParse(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/*.hcl")
	seeds, _ := filepath.Glob(filepath.Join(seedDir, "*.nomad"))
	for _, path := range append(inputs, seeds...) {
		if src, err := os.ReadFile(path); err == nil {
			f.Add(src)
		}
	}
	for _, src := range oddInputs() {
		f.Add([]byte(strings.ReplaceAll(strings.ReplaceAll(src, "{ ", "{\n"), " }", "\n}")))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		job, err := Parse("fuzz.hcl", src, ParseOptions{Vars: map[string]string{}})
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) || len(perr.Diagnostics) == 0 {
				t.Fatalf("error without diagnostics: %T %v", err, err)
			}
			for _, d := range perr.Diagnostics {
				if d.Filename == "" || d.Line < 1 || d.Column < 1 {
					t.Fatalf("diagnostic without position: %+v", d)
				}
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !positionRe.MatchString(line) {
					t.Fatalf("error line without position: %q", line)
				}
			}
			return
		}
		if job == nil {
			t.Fatal("nil job without error")
		}
		job.Canonicalize()
		_ = job.Validate()
		_ = job.Warnings()
		job.Canonicalize()
	})
}

// oddInputs are edge cases worth keeping as seeds: nulls where values are
// expected, wrong shapes, runtime references the placeholders cannot
// represent, dynamic blocks with odd for_each values. Braces followed or
// preceded by a space are turned into newlines, since HCL wants nested
// blocks on their own lines.
func oddInputs() []string {
	return []string{
		`job "x" { group "g" { task "t" { driver = "d"
		 config { a = null
		 b = [null, 1, "x"]
		 c = { k = null } }
		 env = null
		 meta = { a = null }
		} } }`,
		`job "x" { meta = ["a"] }`,
		`job "x" { meta = [{a = "b"}] }`,
		`job "x" { group "g" { service { check { header = { A = null, B = [null] } } } } }`,
		`job "x" { group "g" { service { check { header = [1] } } } }`,
		`job "x" { group "g" { network { port "" { static = -5 } } } }`,
		`job "x" { group "g" { count = -1 } }`,
		`job "x" { group "g" { task "t" { config = [1] } } }`,
		`job "x" { group "g" { task "t" { config = "x" } } }`,
		`job "x" { datacenters = [null] }`,
		`job "x" { datacenters = null }`,
		`job "x" { priority = 1e100 }`,
		`job "x" { group "g" { task "t" { kill_timeout = 1e100 } } }`,
		`job "x" { group "g" { task "t" { kill_timeout = -5 } } }`,
		`job "x" { meta { a = "${x[0].y["z"]}" } }`,
		`job "x" { meta { a = "${x[*].y}" } }`,
		`job "x" { meta { a = "${x.y} ${x.y.z}" } }`,
		`job "x" { meta { a = "${x[true]}" } }`,
		`job "x" { meta { a = "${x[1.5]}" } }`,
		`job "x" { meta { a = "${x[-1]}" } }`,
		`job "x" { meta { a = x } }`,
		`job "x" { meta { a = x.y } }`,
		`variable "v" { type = map(number) }
		 job "x" {}`,
		`variable "v" { default = 1
		 validation { condition = "yes"
		 error_message = 5 } }
		 job "x" {}`,
		`variable "v" { default = 1
		 validation { condition = null
		 error_message = null } }
		 job "x" {}`,
		`locals { a = local }
		 job "x" {}`,
		`locals { a = local["b"]
		 b = 1 }
		 job "x" { meta { a = local.a } }`,
		`job "x" { dynamic "group" { for_each = [1]
		 content { task "t" {} } } }`,
		`job "x" { dynamic "group" { for_each = null
		 labels = ["a"]
		 content {} } }`,
		`job "x" { group "g" { task "t" { config { dynamic "m" { for_each = ["a"]
		 labels = ["x"]
		 content { a = m.value } } } } } }`,
		`job "x" { group "g" { task "t" { config { dynamic "m" { for_each = {a = 1}
		 content { a = m.value } } } } } }`,
		`job "x" { constraint { distinct_hosts = null } }`,
		`job "x" { constraint { version = null } }`,
		`job "x" { spread { target "a" { percent = 300 } } }`,
		`job "x" { affinity { weight = 300 } }`,
		`job "x" { group "g" { scaling { min = -1 } } }`,
		`job "x" { group "g" { scaling { min = 3 max = 1 } } }`,
		`{"job": {"x": {"meta": [1,2]}}}`,
		`{"job": {"x": {"group": {"g": {"task": {"t": {"config": [{"a": 1}, {"b": 2}]}}}}}}}`,
		`{"job": {"x": {"group": {"g": {"task": {"t": {"config": null}}}}}}}`,
		`{"job": null}`,
		`{"job": {"x": null}}`,
		`{}`,
		``,
		`{"variable": {"v": {"type": "nope(1)"}}, "job": {"x": {}}}`,
	}
}
