// Package cgroups gives each isolated task its own control group: created
// before the task starts, limited from the task's resources, measured for
// stats, checked for OOM kills and removed when the task is gone. It speaks
// both cgroup v1 (one hierarchy per controller) and v2 (one unified
// hierarchy); Detect finds out which one the host runs.
//
// Layout, with parent "roam" (v1) or "roam.slice" (v2) and a task cgroup
// named "<alloc>.<task>":
//
//	v1  /sys/fs/cgroup/<ctrl>/roam/<alloc>.<task>      cpu, cpuacct, memory, pids, freezer
//	    /sys/fs/cgroup/cpuset/roam/shared              every task without reserved cores
//	    /sys/fs/cgroup/cpuset/roam/reserved/<alloc>.<task>
//	v2  /sys/fs/cgroup/roam.slice/shared/<alloc>.<task>
//	    /sys/fs/cgroup/roam.slice/reserved/<alloc>.<task>
//
// Reserved cores are exclusive: "shared" holds every core of the parent minus
// those of the "reserved" children, recomputed (under a lock on the parent
// directory) whenever a reserving task comes or goes.
//
// Map of the package:
//
//	cgroups.go    Version, Ref, Limits, Stats, the Cgroup interface, Host
//	mountinfo.go  Detect: which hierarchies are mounted where
//	v1.go         the cgroup v1 implementation
//	v2.go         the cgroup v2 implementation
//	cpuset.go     shared and reserved cores, kept exclusive
//	fs.go         reading and writing control files, killing and emptying
package cgroups
