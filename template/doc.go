// Package template renders a task's template blocks and re-renders them when
// the data they read changes. It embeds consul-template's runner (as Nomad
// does) with its Nomad and Consul clients pointed at the local agent's HTTP
// API, so nomadService, nomadServices, service and services read roam's one
// catalog through the same blocking queries consul-template makes against
// Nomad and Consul, authenticated with the task's workload identity.
//
// What roam changes in the library's behaviour, and why:
//
//   - Files are read and written through internal/confine: a source is
//     opened beneath the task directory, a destination beneath the
//     allocation directory, never through a symlink the task planted, and
//     written atomically (a temporary file renamed over the destination).
//   - A file is written only when its content differs from what is on
//     disk; only then does the engine report a change, so a re-render with
//     the same result (or a client restart) never restarts a task.
//   - env, mustEnv and envOrDefault read the task's environment only, never
//     the agent's; file reads beneath the task directory and is read again
//     at each render (it is not watched).
//   - The functions structs.RefusedTemplateFuncs names (Consul KV, Vault,
//     plugin, writeToFile…) are disabled; validation refuses them first.
//   - The engine runs in a child process of the roam binary when the
//     client gives it a Sandbox (the agent always does): memory-limited,
//     stopped by a CPU watchdog, killed with the task. A template is a
//     program, and a goroutine running one can be neither stopped nor
//     limited (docs/templates.md, Limits).
//   - A template watches at most MaxDepsPerTemplate services and variables,
//     a task MaxDepsPerTask, each a connection to the agent.
//   - The agent's own environment (CONSUL_HTTP_ADDR, VAULT_TOKEN,
//     NOMAD_TOKEN…) configures nothing: every client setting is explicit.
//
// The engine reports, on one channel: what the first render still waits
// for, the first render, later content changes (by template index) and a
// failure after which nothing renders again. What to do about them
// (events, change_mode, env) is the task runner's templates hook.
//
// Map of the package:
//
//	engine.go   Config, Engine: New, Start, Events, Stop; the event loop
//	config.go   the consul-template configuration built from template blocks
//	files.go    confined reading of sources and writing of destinations
//	funcs.go    the functions roam replaces or disables
//	env.go      ParseEnv: a rendered env = true file to variables
//	sandbox.go  Sandbox, Limits: the parent side of an engine in a child
//	child.go    ChildMain: the child side (request on stdin, events on stdout)
package template
