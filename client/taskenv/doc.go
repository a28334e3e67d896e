// Package taskenv builds the environment a task runs with (every NOMAD_*
// variable, the host environment for non-image drivers, the task's env block)
// and interpolates ${...} references in task env and driver config.
//
// The build order follows the runtime-env reference exactly; later steps
// overwrite earlier ones, except the host environment, which never does:
//
//  1. directories (by the driver's filesystem isolation), resources, identity
//  2. task-level (legacy) network ports
//  3. group ports, allocated ports, other tasks' legacy ports
//  4. Connect upstreams
//  5. allocation network namespace addresses (when a network status exists)
//  6. NOMAD_META_<key> and NOMAD_META_<KEY>
//  7. host environment minus the deny list (non-image drivers only)
//  8. the task's env block, interpolated
//  9. hook environments, in hook order (templates with env=true come last)
//  10. key cleaning for NOMAD_ADDR_/IP_/PORT_/HOST_PORT_/META_ keys
//
// Map of the package:
//
//	builder.go      Builder: collects the inputs, Build produces a TaskEnv
//	ports.go        port, upstream and alloc-namespace variables
//	env.go          TaskEnv: the built maps, List, Interpolate*
//	interpolate.go  ${NOMAD_X}, ${env["X"]}, ${node.*}, ${attr.*}, ${meta.*}
//	clean.go        CleanEnvVar and the default host-env deny list
package taskenv
