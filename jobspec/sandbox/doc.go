// Package sandbox evaluates job files in a child process of the roam binary
// under resource limits, so that a hostile job file (range(1e9) in a for
// expression, a string formatted to gigabytes, deeply nested dynamic blocks)
// costs a bounded amount of CPU, memory and time and then fails with a
// *LimitError, instead of exhausting the agent or the CLI.
//
// Why a process: a goroutine can be abandoned on a timeout but not stopped,
// and its memory cannot be limited. The child re-executes the running binary
// (`roam internal parse`, like the executor re-exec in drivers/executor),
// lowers its own RLIMIT_DATA and RLIMIT_CPU before it reads a byte of input,
// and sets a soft Go memory limit below them so the collector works hard
// before the kernel refuses an allocation. The parent bounds the wall clock
// (and kills the child when the caller's context ends, e.g. when an HTTP
// client goes away) and the size of what it reads back.
//
// Map of the package:
//
//	runner.go   Runner, Limits, Binary: the parent side
//	child.go    Main: the child side (stdin request, stdout response)
//	errors.go   LimitError, the one error kind a limit produces
//
// The protocol between the two is JSON: a request with the file, its name
// and the parse options on stdin; a response with the job or the parse
// diagnostics (*jobspec.Error) on stdout.
package sandbox
