// Command testsummary reads `go test -json` on stdin and prints what plain
// `go test` prints (each package's result, and the output of failed tests
// only), then a closing line with the counts and one line naming the skipped
// tests and why each skipped. `make test` pipes the whole suite through it
// so that a skip (no Docker, not root) is never lost in the scroll.
//
// It exits 1 when a test or a package failed, so that a pipeline without
// pipefail still fails.
package main
