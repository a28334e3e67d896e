// Package testutil holds helpers shared by roam's tests.
//
// Map of the package:
//
//	wait.go  WaitFor: poll a condition until it holds or a deadline passes
//	log.go   Logger: an *slog.Logger that writes through t.Log
package testutil
