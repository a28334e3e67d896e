//go:build !chaosbug

package httpapi

// plantedStaleReads is false in every build but the chaos suite's planted-bug
// one (see plantedbug_chaosbug.go).
const plantedStaleReads = false
