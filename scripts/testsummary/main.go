package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	s, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if s.failed > 0 || s.pkgFailed > 0 {
		os.Exit(1)
	}
}

// event is the part of test2json's event that the summary reads.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// summary counts what the run did.
type summary struct {
	passed, failed, skipped, pkgFailed int
	skips                              []string // "pkg.Test (reason)"
}

// summarize copies package-level output and failed tests' output to w, and
// ends with the counts and the skipped tests.
func summarize(r io.Reader, w io.Writer) (*summary, error) {
	s := &summary{}
	held := map[string][]string{} // a running test's output, by pkg+test
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Not an event (a build error printed by go itself): show it.
			fmt.Fprintln(w, sc.Text())
			continue
		}
		s.apply(e, held, w)
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
	if len(s.skips) > 0 {
		fmt.Fprintf(w, "skipped: %s\n", strings.Join(s.skips, "; "))
	}
	return s, nil
}

func (s *summary) apply(e event, held map[string][]string, w io.Writer) {
	key := e.Package + "." + e.Test
	switch {
	case e.Test == "" && (e.Action == "output" || e.Action == "build-output"):
		// Plain go test prints "ok pkg" without the PASS line before it.
		if e.Output != "PASS\n" {
			fmt.Fprint(w, e.Output)
		}
	case e.Test == "" && e.Action == "fail":
		s.pkgFailed++
	case e.Test == "":
	case e.Action == "output":
		held[key] = append(held[key], e.Output)
	case e.Action == "pass":
		s.passed++
		delete(held, key)
	case e.Action == "fail":
		s.failed++
		fmt.Fprint(w, strings.Join(held[key], ""))
		delete(held, key)
	case e.Action == "skip":
		s.skipped++
		s.skips = append(s.skips, fmt.Sprintf("%s.%s (%s)", shortPkg(e.Package), e.Test, skipReason(held[key])))
		delete(held, key)
	}
}

// skipReason is the message t.Skip logged: the last output line that is
// neither the RUN nor the SKIP marker.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
			continue
		}
		// "file_test.go:12: reason" → "reason"
		if _, after, ok := strings.Cut(l, ": "); ok && strings.Contains(l[:len(l)-len(after)], ".go:") {
			l = after
		}
		return l
	}
	return "no reason given"
}

// shortPkg drops the module path, for a shorter line.
func shortPkg(p string) string {
	return strings.TrimPrefix(strings.TrimPrefix(p, "github.com/roam-sh/roam"), "/")
}
