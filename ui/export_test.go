package ui

// EscapeComponent and EscapeForm are the escapes withFirstReads uses, for
// the test that compares them with the browser's.
var (
	EscapeComponent = escapeComponent
	EscapeForm      = escapeForm
)
