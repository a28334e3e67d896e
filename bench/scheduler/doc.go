// Command scheduler is roam's end-to-end scheduling benchmark. It starts a
// real server as its own process (Raft log on disk), registers simulated
// client nodes that speak the real client protocol over msgrpc TCP, submits
// service jobs through Job.Register, and measures how fast the allocations
// are placed and reported running, and how much memory the server used.
//
//	go run ./bench/scheduler -nodes 1000 -jobs 100 -allocs 10000
//
// With -rollout it then rolls every job out to a new version through a
// deployment (-max-parallel at a time, the simulated nodes reporting each
// allocation healthy), and once more without a deployment as the in-run
// baseline:
//
//	go run ./bench/scheduler -nodes 100 -jobs 1 -allocs 1000 -rollout
//
// With -servers N it starts N server processes that form one cluster
// (retry_join), spreads the simulated nodes and the submitters over them
// (followers forward to the leader) and sums memory and CPU over the
// servers; -compare runs 1 server and then 3 and prints their ratio:
//
//	go run ./bench/scheduler -compare
//
// The last line on stdout is "placements_per_second=<N>" (with several
// sizes, name=value lines per size and the ratio). See
// bench/README.md for what each figure means and the results.
//
// Map of the package:
//
//	main.go     flags, the run from start to report, exit codes
//	server.go   one server: its agent config, the process (leader wait,
//	            RSS and CPU from /proc, stop)
//	servers.go  the servers of a run: ports, retry_join, start, sums,
//	            clean-up; spreading calls over them
//	node.go     a simulated node: register, heartbeat, alloc watch and pull,
//	            batched Node.UpdateAlloc, like client/ on the wire
//	shape.go    the Node a real fingerprint would produce, and the job
//	jobs.go     concurrent job submission
//	tracker.go  placement and running times per allocation and job; stats
//	report.go   the printed results
//	rollout.go  the roll-out phases (-rollout): deployment, then baseline
package main
