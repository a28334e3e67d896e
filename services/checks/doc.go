// Package checks runs the health checks of service instances on the client:
// http, tcp, grpc (the gRPC health protocol) and script probes, the
// thresholds that turn their results into a status, and check_restart.
//
// The package knows neither network namespaces nor task drivers: the
// caller resolves each Check with the address to probe, a DialFunc (the
// client passes netns.Dialer so that a check reaches a service listening
// only inside its allocation's namespace) and an ExecFunc (the task
// driver's exec, for script checks). That keeps it testable against real
// servers and usable by any caller.
//
// What a probe finds (Result.structs.HealthStatus):
//
//	http    any 2xx passing, 429 warning, anything else (or no answer) critical;
//	        redirects are followed only to the check's own address
//	tcp     a connection opens: passing
//	grpc    grpc.health.v1.Health/Check on grpc_service says SERVING: passing
//	script  exit 0 passing, exit 1 warning, anything else critical
//
// A probe that runs past the check's timeout is critical. What the check
// reports (Change.structs.HealthStatus) follows the thresholds, counted over consecutive
// results: success_before_passing, failures_before_warning,
// failures_before_critical (tracker.go has the rules). A check starts from
// Check.Initial (the status saved before a client restart), else its
// initial_status, else critical: an instance is not sent traffic before
// its first passing result.
//
// Only changes are reported (Config.OnChange), not every result, so the
// caller can replicate them to the servers cheaply (Batcher coalesces
// them: one RPC for the changes of a window, an instance's latest update
// replacing older ones not yet sent); the latest result of
// each check is kept for the API (Runner.States). check_restart restarts
// the check's task (Config.Restart) after limit unhealthy statuses in a
// row, ignoring warnings if asked and anything within grace of the check's
// start or the last restart.
//
// Map of the package:
//
//	check.go    Check (what to run, resolved), DialFunc, ExecFunc
//	tracker.go  thresholds and check_restart counting (pure, table-tested)
//	probe.go    the four probes
//	runner.go   Runner: one goroutine per check, Set, Stop, States
//	batch.go    Batcher: changes to the servers, one RPC per token and window
package checks
