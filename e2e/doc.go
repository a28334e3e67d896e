// Package e2e holds black-box tests of the built roam binary: agents are
// started as separate processes from HCL config files and driven through the
// CLI and the HTTP API, as an operator would.
package e2e
