// Package logfile names a task's log files and finds them again: the
// executor writes <task>.<stdout|stderr>.<n> into the allocation's
// alloc/logs/ directory, rotating to n+1, and the client's log endpoints read
// and follow them in index order. Both sides use this one definition.
package logfile
