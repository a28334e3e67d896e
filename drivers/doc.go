// Package drivers defines the contract between the client and the task drivers
// and the small helpers every driver shares. The drivers live below it:
//
//	rawexec/   raw_exec: a command on the host, no isolation
//	exec/      exec: a command isolated (namespaces, own root, cgroup, user);
//	           exec/exectest helps test isolating drivers
//	java/      java: a java command line, run as an exec Flavor
//	executor/  the supervisor process exec, java and raw_exec start tasks through
//	docker/    docker: containers of the local Docker Engine; its log
//	           collector process (docker/collector) and pause containers
//	           for group network namespaces
//
// A driver is a plain Go value the client builds explicitly from its
// configuration and keeps in a Registry; nothing registers itself at init time.
// Optional powers (stats, exec) are separate interfaces a driver may also
// implement, checked with a type assertion.
//
// Map of the package:
//
//	driver.go    Driver and the optional interfaces, capabilities, fingerprints,
//	             exit results and task status
//	task.go      TaskConfig (what to run) and TaskHandle (how to find it again)
//	decode.go    DecodeConfig: a job's generic config map into a driver's struct
//	             (embedded untagged structs share their keys: exec.Options)
//	registry.go  Registry: the drivers a client runs, in fingerprint order
//	signal.go    ParseSignal: "SIGTERM" and friends to syscall.Signal
//	errors.go    sentinel errors and the recoverable-error wrapper
package drivers
