// Package confine opens host paths named by a job so that they cannot lead
// out of the directory they belong to: the allocation directory, a task's
// root, the log directory.
//
// The rule it enforces: a path derived from a job is never checked as a
// string and resolved again later, because a task can swap a component for
// a symlink between the check and the use. It is resolved once, by the
// kernel, beneath an open directory (openat2 with RESOLVE_BENEATH or
// RESOLVE_IN_ROOT, and never through /proc magic links), and what was opened
// is what is used: read, written, chmod'ed through its descriptor, or bound
// into a mount by /proc/self/fd/N.
//
// Map of the package:
//
//	open.go     Rule, Open, OpenFile, OpenAt, MkdirAll: resolution beneath a root
//	walk.go     the same resolution in user space, for kernels without openat2
//	regular.go  OpenRegular: open only a regular file, judged before any I/O
//	bind.go     Bind: a bind mount of an opened file; Unbind; PrivateDir
//	where.go    Where: where the kernel resolved an opened file; NotAgentOwned
//
// What a hard link can do: it names an inode that its maker could already
// name (links cannot cross filesystems, and fs.protected_hardlinks stops
// linking files the maker does not own). A hard link inside a root is
// therefore no way out of it; the package does not try to detect them.
package confine
