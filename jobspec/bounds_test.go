package jobspec

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// heredocJob is a job whose template data is a heredoc of about size bytes,
// with a runtime reference on every line as real templates have.
func heredocJob(size int, line string) []byte {
	body := strings.Repeat(line, size/len(line)+1)
	return fmt.Appendf(nil, "job \"x\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"exec\"\n      template {\n        destination = \"local/a\"\n        data = <<EOT\n%sEOT\n      }\n    }\n  }\n}\n", body)
}

// BenchmarkSecurityBoundsHeredoc measures parsing a heredoc of growing size:
// ns/op must roughly double with the size (linear), which the sub-benchmark
// names make easy to compare (go test -bench SecurityBoundsHeredoc).
func BenchmarkSecurityBoundsHeredoc(b *testing.B) {
	lines := map[string]string{
		"plain":        "plain text of a config file, no interpolation\n",
		"interpolated": "listen ${NOMAD_PORT_http} {{ key \"a/b\" }} padding padding padding\n",
	}
	for _, kind := range []string{"plain", "interpolated"} {
		for _, size := range []int{1 << 20, 2 << 20, 4 << 20} {
			benchHeredoc(b, kind, heredocJob(size, lines[kind]), size)
		}
	}
}

func benchHeredoc(b *testing.B, kind string, src []byte, size int) {
	b.Run(fmt.Sprintf("%s/%dMiB", kind, size>>20), func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			if _, err := Parse("x.hcl", src, ParseOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Lifting heredoc runs must not change what a heredoc evaluates to, nor
// where anything after it is.
func TestSecurityBoundsHeredocLiftKeepsMeaning(t *testing.T) {
	cases := map[string]string{
		"plain":         "a = <<EOT\none\ntwo\n  three\nEOT\n",
		"interpolated":  "a = <<EOT\nx=${x} y\nnext ${x}\n\nlast\nEOT\n",
		"escapes":       "a = <<EOT\n$${x} and %%{y}\ncost $5 100%\n${x}\nEOT\n",
		"strip markers": "a = <<EOT\nhead  \n  \n${~x~}  \n  tail\n %{~ if true ~}\n yes  \n%{ endif }\nEOT\n",
		"flush plain":   "a = <<-EOT\n    one\n      two\n\n    three\n    EOT\n",
		"flush mixed":   "a = <<-EOT\n    one ${x}\n      two\n    EOT\n",
		"unicode tail":  "a = <<EOT\nline\nnaïve ${x}\nEOT\n",
		"directive":     "a = <<EOT\n%{ for i in [1, 2] }\nitem ${i}\n%{ endfor }\nEOT\n",
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			src += "b = undefined_fn()\n"
			want, wantPos := evalHeredocAttr(t, []byte(src), cty.NilVal)
			lifted, texts := liftHeredocs("x.hcl", []byte(src))
			if texts == cty.NilVal && (name == "plain" || name == "interpolated") {
				t.Fatal("nothing was lifted")
			}
			got, gotPos := evalHeredocAttr(t, lifted, texts)
			if got != want {
				t.Errorf("lifted value = %q, want %q\nlifted source:\n%s", got, want, lifted)
			}
			if gotPos != wantPos {
				t.Errorf("diagnostic after the heredoc at %s, want %s", gotPos, wantPos)
			}
		})
	}
}

func evalHeredocAttr(t *testing.T, src []byte, texts cty.Value) (string, string) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig(src, "x.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse %q: %v", src, diags)
	}
	attrs, _ := f.Body.JustAttributes()
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"x": cty.StringVal("X")}}
	if texts != cty.NilVal {
		ctx.Variables[heredocVar] = texts
	}
	v, diags := attrs["a"].Expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("eval %q: %v", src, diags)
	}
	_, bdiags := attrs["b"].Expr.Value(ctx)
	return v.AsString(), bdiags[0].Subject.String()
}
