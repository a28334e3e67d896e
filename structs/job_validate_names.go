package structs

import (
	"fmt"
	"path"
	"strings"
)

// Names that become path components on a client. A task's name is the name
// of its directory in the allocation directory (<alloc>/<task>/) and the
// start of its log files' names (alloc/logs/<task>.stdout.N); template and
// artifact destinations and the dispatch payload file are paths inside the
// task directory. The client joins them onto host paths, so the rules below
// are what keeps one of them from naming something else.
//
// The layout of an allocation directory (client/allocdir; the names are
// repeated here because structs imports none of roam's packages, and
// client/allocdir's tests check the two agree):
//
//	<alloc>/alloc/{data,logs,tmp}           shared by the allocation's tasks
//	<alloc>/network/{hosts,resolv.conf}     written by the agent, mounted into tasks
//	<alloc>/<task>/{local,secrets,private,tmp}
var reservedTaskNames = []string{
	// The shared directory: a task named "alloc" would have its secrets/
	// and private/ inside what every task of the allocation shares.
	"alloc",
	// The agent's network files: a task named "network" could replace the
	// files the agent writes there as root and mounts into the other tasks.
	"network",
	// A task directory's own folders: no task directory sits beside them
	// today, but a name that reads like a layout folder is one a future
	// layout (or a reader of the tree) would take for it.
	"local", "secrets", "private", "tmp",
}

// ReservedTaskNames are the names a task may not have, because its
// directory would be one of the allocation directory's own folders. They
// are compared without case (a case-insensitive file system holds one
// directory for "alloc" and "Alloc").
func ReservedTaskNames() []string { return append([]string(nil), reservedTaskNames...) }

// MaxTaskNameLength keeps a task's longest derived file name
// ("<task>.stderr.<index>") under the 255 bytes a file name may have.
const MaxTaskNameLength = 200

// validateTaskName checks a task name as the path component it becomes.
func validateTaskName(p problems, name string) {
	if msg := TaskNameProblem(name); msg != "" {
		p.addf("%s", msg)
	}
}

// TaskNameProblem says why name cannot be a task's name, or "" when it can
// (an empty name is reported as missing, elsewhere). jobspec reports it at
// the task block's label; Job.Validate under the task's field path.
func TaskNameProblem(name string) string {
	if name == "" {
		return ""
	}
	if msg := pathComponentProblem(name); msg != "" {
		return "task name " + msg
	}
	for _, r := range reservedTaskNames {
		if strings.EqualFold(name, r) {
			return fmt.Sprintf("task name %q is reserved: it is a folder of the allocation directory (reserved names: %s)", name, strings.Join(reservedTaskNames, ", "))
		}
	}
	if len(name) > MaxTaskNameLength {
		return fmt.Sprintf("task name is %d bytes long; the limit is %d (it names files on the client)", len(name), MaxTaskNameLength)
	}
	return ""
}

// pathComponentProblem says why name cannot be one path component, or "".
// Dots and dashes inside a name are fine (Nomad accepts them, jobs use
// them); only what changes which directory the name reaches is refused.
func pathComponentProblem(name string) string {
	switch {
	case name == "." || name == "..":
		return fmt.Sprintf("%q names a directory, not a new one", name)
	case strings.ContainsRune(name, '/'):
		return fmt.Sprintf("%q must not contain '/'", name)
	case strings.ContainsRune(name, 0):
		return "must not contain null characters"
	}
	return ""
}

// validateTaskPath checks a path the client resolves inside the task
// directory (a template or artifact destination, the dispatch payload
// file, under base within the task directory). As in Nomad it may reach
// the shared alloc/ folder ("../alloc/data/x") but not leave the allocation
// directory, nor reach a task's private/ folder; the client confines it
// again when it uses it, since a task can plant symlinks.
func validateTaskPath(p problems, field, base, dest string) {
	if strings.ContainsRune(dest, 0) {
		p.addf("%s must not contain null characters", field)
		return
	}
	// <alloc>/task/<base>/<dest>, cleaned: anything that climbs above
	// <alloc> starts with "..".
	rel := path.Join("task", base, dest)
	if rel == ".." || strings.HasPrefix(rel, "../") {
		p.addf("%s %q escapes the allocation directory", field, dest)
		return
	}
	if AgentOwnedPath(rel) {
		p.addf("%s", AgentOwnedProblem(field, dest))
	}
}

// TaskPrivateDirName is the folder of every task directory where the
// client keeps its own files of the task: the executor's spec (the task's
// whole environment), socket and exit status, the docker log collector's
// record of its process, the connect proxy's configuration. Root processes
// read them back and act on them (a recorded process is signalled), so
// nothing a job names may be written or read there: not a template's
// destination or source, an artifact, the dispatch payload, a volume.
const TaskPrivateDirName = "private"

// AgentOwnedPath reports whether rel, a path relative to the allocation
// directory, lies in any task's private/ folder (<task>/private/...). It is
// the one rule for every path a job names: job validation applies it to
// the static path, the client again to the interpolated one and to where
// the kernel resolved it (links a task planted included). The name is
// compared without case, as task names are (a case-insensitive file
// system holds one folder for "private" and "Private").
func AgentOwnedPath(rel string) bool {
	c := strings.Split(path.Clean(rel), "/")
	if len(c) < 2 || c[0] == ".." || strings.EqualFold(c[0], sharedAllocDirName) {
		return false
	}
	return strings.EqualFold(c[1], TaskPrivateDirName)
}

// AgentOwnedTaskPath is AgentOwnedPath for a path relative to a task
// directory ("private/x", "local/../private/x").
func AgentOwnedTaskPath(rel string) bool { return AgentOwnedPath(path.Join("task", rel)) }

// AgentOwnedProblem is the error text for a job path refused by
// AgentOwnedPath: field names the block's attribute, p the path as given.
func AgentOwnedProblem(field, p string) string {
	return fmt.Sprintf("%s %q is in a task's %s/ folder, which holds roam's own files of the task; jobs may not read or write there", field, p, TaskPrivateDirName)
}

// sharedAllocDirName is the allocation's shared folder (client/allocdir's
// SharedAllocName): it sits beside the task directories and has no
// private/ folder of its own.
const sharedAllocDirName = "alloc"
