// Package collector is the docker driver's log collector: the roam binary
// run as `roam docker-logger <spec.json>`, one process per container. It
// follows the container's stdout and stderr through the Docker API and writes
// them through the executor's rotating writer into the allocation's
// alloc/logs/<task>.stdout.<n> and .stderr.<n>, where `alloc logs` reads them.
//
// Like the executor, it runs in its own session and outlives the client, so
// output is collected while no client runs and a restarted client finds the
// collector still at work (PID plus start time in the task handle). It keeps
// a cursor per stream (timestamp of the last message written and how many
// messages carried exactly that timestamp) in memory, saves it to a file at
// most every second and on exit, and after any break in the stream (the
// container stopped, the Docker daemon restarted) asks again from the cursor
// and drops what it already wrote, so no line is lost or written twice. Only a
// collector killed outright (SIGKILL) can repeat up to a second of output,
// when its successor starts from the saved cursor.
//
//	driver ── Ensure ──► roam docker-logger spec.json (setsid)
//	                        │ ContainerLogs(follow, timestamps, since=cursor)
//	                        ▼
//	                     frames ─► dedup per stream ─► rotator ─► alloc/logs
//	driver ── SIGTERM ─► final pass up to the end of the logs, save cursor, exit
//
// The collector exits by itself once the container is removed.
//
// Map of the package:
//
//	main.go    Main: the process entry point cmd/roam must call; Spec
//	follow.go  the follow loop, the final pass, retries
//	frames.go  the Docker log stream's frames and the per-stream cursor
//	launch.go  Ensure, Find and Handle: starting, finding and stopping a collector
//
// collectortest/ lets a test binary act as the collector.
package collector
