package jobspec

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Heredocs are lifted out before parsing, because HCL's parser handles them
// in time quadratic in their line count: the lexer makes one literal token
// per line and the parser then melds neighbouring literals one removal at a
// time (a 1 MB heredoc takes minutes). A run of literal lines in a heredoc
// is therefore replaced, before the parser sees it, by one interpolation of
// a variable that holds the run's text:
//
//	data = <<EOT              data = <<EOT
//	line one                  ${roam_heredoc__.t0
//	line two          ->
//	line three                }
//	${NOMAD_PORT_http}        ${NOMAD_PORT_http}
//	EOT                       EOT
//
// The replacement keeps every line where it was (the run's newlines move
// inside the interpolation, where they are whitespace), so diagnostics keep
// their line:column. What is not lifted, and so keeps HCL's own handling:
// runs shorter than minHeredocRun, lines holding escapes ($${, %%{), a line
// next to a whitespace-strip marker (~), heredocs that nest heredocs, and
// flush heredocs (<<-) that mix interpolations with indentation to strip;
// all of these are still bounded by the parse sandbox's limits.

// heredocVar is the root variable the lifted runs are read from.
const heredocVar = "roam_heredoc__"

// liftHeredocs returns src with long literal runs of heredocs lifted out,
// and the value of heredocVar holding them (cty.NilVal when none were).
func liftHeredocs(filename string, src []byte) ([]byte, cty.Value) {
	tokens, diags := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return src, cty.NilVal // the parser reports the problem
	}
	l := &lifter{src: src, texts: map[string]cty.Value{}}
	for i := 0; i < len(tokens); i++ {
		if tokens[i].Type == hclsyntax.TokenOHeredoc {
			i = l.heredoc(tokens, i)
		}
	}
	if len(l.texts) == 0 {
		return src, cty.NilVal
	}
	l.out.Write(src[l.copied:])
	return l.out.Bytes(), cty.ObjectVal(l.texts)
}

type lifter struct {
	src    []byte
	out    bytes.Buffer
	copied int // bytes of src already in out
	texts  map[string]cty.Value
}

// heredoc lifts the runs of the heredoc opening at tokens[open] and returns
// the index of its closing token.
func (l *lifter) heredoc(tokens hclsyntax.Tokens, open int) int {
	end, nested := closeOf(tokens, open)
	if nested || end < 0 {
		return max(end, open)
	}
	body := tokens[open+1 : end]
	runs := literalRuns(body)
	flush := bytes.HasPrefix(tokens[open].Bytes, []byte("<<-"))
	strip := 0
	if flush {
		var ok bool
		if strip, ok = flushStrip(body, runs); !ok {
			return end
		}
	}
	for _, r := range runs {
		l.lift(body[r[0]:r[1]], strip, stripsAfter(body, r[0]-1), stripsBefore(body, r[1]))
	}
	return end
}

// closeOf finds the heredoc's closing token and whether another heredoc
// opens inside it.
func closeOf(tokens hclsyntax.Tokens, open int) (int, bool) {
	for i := open + 1; i < len(tokens); i++ {
		switch tokens[i].Type {
		case hclsyntax.TokenCHeredoc:
			return i, false
		case hclsyntax.TokenOHeredoc:
			return i, true
		}
	}
	return -1, false
}

// literalRuns returns [start, end) index ranges of body holding two or
// more consecutive literal tokens spanning at least one line break, outside
// any interpolation or directive: the tokens HCL would meld one by one.
func literalRuns(body hclsyntax.Tokens) [][2]int {
	var runs [][2]int
	depth, start := 0, -1
	endRun := func(end int) {
		if start >= 0 && end-start >= 2 && liftable(body[start:end]) {
			runs = append(runs, [2]int{start, end})
		}
		start = -1
	}
	for i, tok := range body {
		switch tok.Type {
		case hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			endRun(i)
			depth++
			continue
		case hclsyntax.TokenTemplateSeqEnd:
			depth--
			continue
		case hclsyntax.TokenStringLit:
			if depth == 0 {
				if start < 0 {
					start = i
				}
				continue
			}
		}
		endRun(i)
	}
	endRun(len(body))
	return runs
}

// liftable: the run crosses a line break and its last line is ASCII, so
// that the replacement can end at the same column.
func liftable(run hclsyntax.Tokens) bool {
	var raw []byte
	for _, tok := range run {
		raw = append(raw, tok.Bytes...)
	}
	nl := bytes.LastIndexByte(raw, '\n')
	for _, c := range raw[nl+1:] {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return nl >= 0
}

// flushStrip is the indentation a flush heredoc strips, when it can be
// applied here: the heredoc must be one run of literal lines indented with
// spaces and tabs only (then characters are bytes). A flush heredoc with
// nothing to strip is lifted like any other.
func flushStrip(body hclsyntax.Tokens, runs [][2]int) (int, bool) {
	onlyRun := len(runs) == 1 && runs[0] == [2]int{0, len(body)}
	minIndent := -1
	for _, tok := range body {
		if tok.Type != hclsyntax.TokenStringLit || tok.Range.Start.Column != 1 {
			continue
		}
		line := string(tok.Bytes)
		if isBlankLine(line) {
			continue // blank lines do not count
		}
		trimmed := strings.TrimLeft(line, " \t")
		if strings.TrimLeftFunc(trimmed, unicode.IsSpace) != trimmed {
			return 0, false // other white space: leave it to HCL's rule
		}
		if n := len(line) - len(trimmed); minIndent < 0 || n < minIndent {
			minIndent = n
		}
	}
	if minIndent <= 0 {
		return 0, true
	}
	return minIndent, onlyRun
}

// lift replaces one run by an interpolation spanning the same lines and
// ending at the same column. trimStart and trimEnd say whether a strip
// marker (~) stands right before or after the run: HCL trims the first or
// last literal then, so the lifted text is trimmed the same way.
func (l *lifter) lift(run hclsyntax.Tokens, strip int, trimStart, trimEnd bool) {
	var text strings.Builder
	for i, tok := range run {
		val, _ := hclsyntax.ParseStringLiteralToken(tok)
		if strip > 0 && tok.Range.Start.Column == 1 && !isBlankLine(val) {
			val = val[min(strip, len(val)):]
		}
		if i == 0 && trimStart {
			val = strings.TrimLeftFunc(val, unicode.IsSpace)
		}
		if i == len(run)-1 && trimEnd {
			val = strings.TrimRightFunc(val, unicode.IsSpace)
		}
		text.WriteString(val)
	}
	var raw []byte
	for _, tok := range run {
		raw = append(raw, tok.Bytes...)
	}
	lines := bytes.Count(raw, []byte("\n"))
	tail := len(raw) - bytes.LastIndexByte(raw, '\n') - 1
	name := fmt.Sprintf("t%d", len(l.texts))
	value := text.String()
	first, last := run[0].Range, run[len(run)-1].Range
	l.out.Write(l.src[l.copied:first.Start.Byte])
	if tail == 0 {
		// The run ends a line: close the interpolation on its last line
		// and keep that line break as the literal after it (which a
		// following ~ trims, as it trimmed the original).
		fmt.Fprintf(&l.out, "${%s.%s%s}\n", heredocVar, name, strings.Repeat("\n", lines-1))
		if !trimEnd {
			value = strings.TrimSuffix(value, "\n")
		}
	} else {
		fmt.Fprintf(&l.out, "${%s.%s%s%s}", heredocVar, name, strings.Repeat("\n", lines), strings.Repeat(" ", tail-1))
	}
	l.texts[name] = cty.StringVal(value)
	l.copied = last.End.Byte
}

// stripsAfter: body[i] is a "~}" that trims the literal after it.
func stripsAfter(body hclsyntax.Tokens, i int) bool {
	return i >= 0 && body[i].Type == hclsyntax.TokenTemplateSeqEnd && bytes.HasPrefix(body[i].Bytes, []byte("~"))
}

// stripsBefore: body[i] is a "${~" or "%{~" that trims the literal before it.
func stripsBefore(body hclsyntax.Tokens, i int) bool {
	return i < len(body) && (body[i].Type == hclsyntax.TokenTemplateInterp || body[i].Type == hclsyntax.TokenTemplateControl) &&
		bytes.HasSuffix(body[i].Bytes, []byte("~"))
}

// isBlankLine is HCL's flush-heredoc notion of a blank line: white space
// only, ending in a line break.
func isBlankLine(s string) bool {
	return strings.TrimLeftFunc(s, unicode.IsSpace) == "" && strings.HasSuffix(s, "\n")
}
