// Package statefile guards the agent's on-disk state files (the server's
// raft.db and snapshots, the client's client.db) before they are opened: a
// file that is empty, truncated, zeroed or not what it claims to be is
// refused with a CorruptError naming the file and the remedy, rather than
// handed to a library that may panic on it (bbolt does, and a panic on
// another goroutine cannot be recovered) or that quietly starts afresh.
//
// Map of the package:
//
//	statefile.go  CorruptError, ErrCorrupt, MoveAside, Guard
//	bolt.go       CheckBolt: meta pages against the file size, then a guarded full walk
package statefile
