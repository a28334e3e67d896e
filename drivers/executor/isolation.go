package executor

import "github.com/roam-sh/roam/internal/cgroups"

// Isolation asks the executor to run the task isolated, as the exec and java
// drivers do: in its own cgroup, in new mount, PID, IPC and UTS namespaces,
// inside a root built in the task dir from host paths, as an unprivileged
// user with a bounded set of capabilities. A nil Isolation (raw_exec) runs the
// task as a plain child.
type Isolation struct {
	// Cgroup names the task's cgroup; its version must match the host's.
	Cgroup cgroups.Ref    `json:"cgroup"`
	Limits cgroups.Limits `json:"limits"`

	// HostPID and HostIPC share the host's PID or IPC namespace
	// (pid_mode/ipc_mode "host") instead of getting new ones.
	HostPID bool `json:"host_pid,omitempty"`
	HostIPC bool `json:"host_ipc,omitempty"`
	// Hostname, when set, is the task's host name in its UTS namespace.
	Hostname string `json:"hostname,omitempty"`

	// AllocDir is the host path of the allocation's shared dir, seen by the
	// task as /alloc. The task dir itself (Spec.TaskDir) is the new root.
	AllocDir string `json:"alloc_dir"`
	// ChrootEnv maps host paths to paths inside the task's root; each is
	// bind-mounted read-only. Host paths that do not exist are skipped.
	ChrootEnv map[string]string `json:"chroot_env"`
	// Mounts are host volumes.
	Mounts []Mount `json:"mounts,omitempty"`
	// NoPivotRoot enters the root with chroot(2) instead of pivot_root(2),
	// for hosts whose root filesystem cannot be pivoted (initramfs).
	NoPivotRoot bool `json:"no_pivot_root,omitempty"`

	// WorkDir is the task's working directory inside its root ("/" if "").
	WorkDir string `json:"work_dir,omitempty"`
	// Capabilities are the numbers of the capabilities the task keeps; all
	// others leave its bounding set.
	Capabilities []uint `json:"capabilities"`
}

// Mount is one host path bind-mounted into the task's root.
type Mount struct {
	HostPath string `json:"host_path"`
	TaskPath string `json:"task_path"`
	ReadOnly bool   `json:"read_only,omitempty"`
	// Propagation is "private" (default), "host-to-task" or "bidirectional".
	Propagation string `json:"propagation,omitempty"`
}
