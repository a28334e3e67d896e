// Package clientapi serves the client endpoints of the HTTP API
// (/v1/client/...) for the allocations this agent's client runs: the
// allocation file explorer, task logs, resource usage, restart, signal and
// exec. The httpapi package mounts it and forwards requests for allocations
// on other nodes to the agent of the node that runs them.
//
//	GET      /v1/client/fs/{ls,stat,cat,readat,stream,logs}/{alloc}
//	GET      /v1/client/allocation/{alloc}/stats
//	GET      /v1/client/allocation/{alloc}/checks    (also /v1/allocation/{alloc}/checks)
//	PUT|POST /v1/client/allocation/{alloc}/{restart,signal}
//	GET      /v1/client/allocation/{alloc}/exec      (websocket)
//	GET|PUT  /v1/client/allocation/{alloc}/gc, /v1/client/gc
//
// Every file system path is resolved inside the allocation directory by
// allocFS (fsroot.go): ".." is refused, symlinks are followed one by one and
// may not leave the directory, tasks' secrets/ and private/ are refused, and
// files are taken through an os.Root as O_PATH handles, checked to be the
// file resolved and a regular file or directory, and only then opened for
// reading (device nodes, FIFOs and sockets never are). Every request reads
// a bounded amount (Config.MaxReadBytes, Config.MaxListEntries).
//
// Map of the package:
//
//	handler.go  Handler, routes, the error → status mapping
//	fsroot.go   allocFS: safe path resolution under an allocation directory
//	fs.go       ls, stat, cat, readat
//	stream.go   frame sinks (framed JSON, plain), fs/stream
//	logs.go     fs/logs: following a task's log across rotated files
//	alloc.go    stats, restart, signal, gc
//	exec.go     the exec websocket
//	checks.go   checks: the service checks' latest results
package clientapi
