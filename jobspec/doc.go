// Package jobspec turns job files written for Nomad (HCL2, or its JSON form)
// into roam's canonical *structs.Job.
//
// Parse is the only entry point. It evaluates variables and locals, expands
// dynamic blocks, decodes every block into structs and applies the few
// normalisations a job file implies (port blocks split into reserved and
// dynamic ports, template defaults, restart and reschedule policies merged
// over the job type's defaults). It does not call Job.Canonicalize or
// Job.Validate: the server does both for every job, whatever its source.
//
// Runtime interpolation: the evaluation context knows only var, local and
// functions. Any other reference (${NOMAD_PORT_http}, ${attr.kernel.name},
// ${env["a.b"]}) is kept as its own ${...} text so that the server or client
// can interpolate it later; see passthrough.go for how.
//
// Limits: Parse itself bounds nothing but its algorithms (linear heredocs,
// guarded setproduct and bcrypt); callers evaluating untrusted files run it
// in a child process through jobspec/sandbox.
//
// Errors: every problem is reported, each as file:line:column with a summary
// and a detail, in one *Error.
//
// Map of the package:
//
//	parse.go        Parse, ParseOptions, the top-level blocks
//	heredoc.go      lifting heredoc literal runs so parsing stays linear
//	job.go          the job block and job-level policies
//	errors.go       Error and Diagnostic
//	variables.go    variable declarations, value sources, validation, locals
//	passthrough.go  evaluation that keeps unknown references as ${...} text
//	functions.go    the HCL function table
//	body.go         schema-driven body decoding and typed attribute setters
//	values.go       cty values to Go values (driver config, meta, env)
//	group.go        group, volume, ephemeral_disk, scaling, disconnect
//	policy.go       constraint, affinity, spread, update, migrate, restart,
//	                reschedule, periodic, parameterized
//	network.go      network, port, dns, cni
//	service.go      service, check, check_restart
//	connect.go      connect, sidecar_service, proxy, upstreams, gateways
//	task.go         task, resources, lifecycle, logs, artifact, template...
package jobspec
