// Package artifact fetches a task's artifacts into its directory before the
// task starts: from http(s) URLs, and from this host's file system (paths,
// file://, file::) only when the operator allows it; verifies the
// `checksum` option (md5, sha1, sha256, sha512); unpacks .tar, .tar.gz/.tgz,
// .tar.bz2/.tbz2, .zip and .gz files unless mode is "file".
//
// The client fetches through a Sandbox: a child process of the roam binary
// (`roam artifact-fetch`, Main) that runs as the task's user (nobody for
// root tasks), without capabilities, under limits on time, body size,
// unpacked size and file count, writing only into a staging directory it is
// handed open. The agent then moves what was staged into the destination
// through an os.Root on the task directory, following no link. A destination
// in the allocation's shared alloc/ dir ("../alloc/data", as in Nomad) is
// staged and moved through an os.Root on alloc/ instead, opened beneath the
// allocation dir; every other way out of the task dir is refused.
//
//	agent (root)                         fetcher (task user, fd 3 = staging)
//	Sandbox.Fetch: refuse local sources
//	  mkdir staging 0700, chown ───────► Main ► Fetcher.Fetch:
//	                                       source ─► local file, or HTTP download
//	                                              ─► checksum check
//	                                              ─► copy, or unpack (no entry out of
//	                                                 dest, none through a symlink)
//	  mergeInto(task dir) ◄─────────────── result line on stdout
//
// Map of the package:
//
//	fetch.go       Request, Fetcher: source resolution, modes, destination, download
//	checksum.go    the checksum option
//	archive.go     unpacking tar, zip and gzip safely under a root
//	limits.go      Limits and the budget that enforces them
//	sandbox.go     Config (the client artifact block), Sandbox, Main, mergeInto
//	sandbox_linux.go  the fetcher's credentials and no_new_privs
//	user.go        FetchUser: who fetches for a task
//	artifacttest/  a test binary standing in as the fetcher
package artifact
