package drivers

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// TaskConfig is everything a driver needs to start one task. The client fills
// it after interpolating the task's env and driver config; drivers treat it as
// read-only. It is persisted inside TaskHandle, so it must stay plain data.
type TaskConfig struct {
	// ID is unique per start of a task ("<alloc>/<task>/<random>"): a restart
	// gets a new ID.
	ID        string
	Name      string
	AllocID   string
	Namespace string
	JobID     string
	JobName   string
	TaskGroup string

	// Env is the complete environment of the task, NOMAD_* included.
	Env  map[string]string
	User string

	Resources Resources
	// Config is the job's driver config block, already interpolated. Drivers
	// decode it into their own struct with DecodeConfig.
	Config map[string]any

	// AllocDir is the host path of the allocation directory (<alloc_dir>/<id>).
	AllocDir string
	TaskDir  TaskDir
	// StdoutPath and StderrPath are the log files the task's output goes to.
	StdoutPath string
	StderrPath string
	// Logs is the task's logs block: how the executor rotates the task's
	// files in TaskDir.LogDir. Zero sizes mean the defaults.
	Logs LogConfig

	// NetworkIsolation is the namespace to run the task in, nil for the host's.
	NetworkIsolation *NetworkIsolationSpec
	// Mounts are host paths to make visible inside the task (volumes).
	Mounts []*MountConfig
	// Ports are the group's allocated ports, for drivers that publish them
	// themselves (docker's `ports` in host mode).
	Ports []PortMapping
}

// PortMapping is one allocated port of the task's group: the host port
// Value on HostIP, and To, the port inside the task's namespace (To <= 0
// means the same number as Value).
type PortMapping struct {
	Label  string
	Value  int
	To     int
	HostIP string
}

// TaskDir holds the host paths of one task's directories.
type TaskDir struct {
	// Dir is the task's working directory (<alloc>/<task>).
	Dir string
	// SharedAllocDir is <alloc>/alloc, shared by all the allocation's tasks.
	SharedAllocDir string
	LocalDir       string
	SecretsDir     string
	// PrivateDir is for roam's own files about the task (executor state); it
	// is never shown to users.
	PrivateDir string
	TmpDir     string
	LogDir     string
}

// LogConfig is a task's logs block as drivers see it.
type LogConfig struct {
	// MaxFiles of each stream are kept (default 10); MaxFileSizeMB is the
	// size at which a file is rotated (default 10).
	MaxFiles      int
	MaxFileSizeMB int
	// Disabled sends the task's output nowhere.
	Disabled bool
}

// Resources are what the scheduler granted the task.
type Resources struct {
	CPUShares     int64
	ReservedCores []uint16
	MemoryMB      int64
	MemoryMaxMB   int64
}

// NetworkIsolationSpec names a network namespace a task must join.
type NetworkIsolationSpec struct {
	Mode        NetIsolationMode
	Path        string
	Labels      map[string]string
	HostsConfig *HostsConfig
}

// HostsConfig is what a driver needs to write the task's /etc/hosts.
type HostsConfig struct {
	Hostname string
	Address  string
}

// MountConfig is one host path mounted into a task.
type MountConfig struct {
	TaskPath        string
	HostPath        string
	Readonly        bool
	PropagationMode string
}

// Copy returns a deep copy of the config.
func (c *TaskConfig) Copy() *TaskConfig {
	if c == nil {
		return nil
	}
	out := *c
	out.Env = maps.Clone(c.Env)
	out.Config = copyAnyMap(c.Config)
	out.Resources.ReservedCores = slices.Clone(c.Resources.ReservedCores)
	if c.NetworkIsolation != nil {
		n := *c.NetworkIsolation
		n.Labels = maps.Clone(n.Labels)
		out.NetworkIsolation = &n
	}
	out.Ports = slices.Clone(c.Ports)
	out.Mounts = nil
	for _, m := range c.Mounts {
		mm := *m
		out.Mounts = append(out.Mounts, &mm)
	}
	return &out
}

// EnvList returns Env as "K=V" strings in a stable order.
func (c *TaskConfig) EnvList() []string {
	keys := slices.Sorted(maps.Keys(c.Env))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+c.Env[k])
	}
	return out
}

func copyAnyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyAny(v)
	}
	return out
}

func copyAny(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return copyAnyMap(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = copyAny(e)
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(t))
		for i, e := range t {
			out[i] = copyAnyMap(e)
		}
		return out
	case []string:
		return slices.Clone(t)
	case map[string]string:
		return maps.Clone(t)
	}
	return v
}

// TaskHandle is the persisted record of a started task: enough for a driver in
// a later client process to find the task again. DriverState is opaque to the
// client; each driver stores its own JSON there.
type TaskHandle struct {
	// Version lets a driver change its DriverState layout compatibly.
	Version     int
	Driver      string
	Config      *TaskConfig
	DriverState []byte
}

// NewTaskHandle starts a handle for cfg.
func NewTaskHandle(driver string, version int, cfg *TaskConfig) *TaskHandle {
	return &TaskHandle{Driver: driver, Version: version, Config: cfg.Copy()}
}

// SetDriverState stores v (JSON-encoded) as the driver's state.
func (h *TaskHandle) SetDriverState(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s driver state: %w", h.Driver, err)
	}
	h.DriverState = b
	return nil
}

// GetDriverState decodes the driver's state into v.
func (h *TaskHandle) GetDriverState(v any) error {
	if len(h.DriverState) == 0 {
		return fmt.Errorf("%s task handle has no driver state", h.Driver)
	}
	if err := json.Unmarshal(h.DriverState, v); err != nil {
		return fmt.Errorf("decode %s driver state: %w", h.Driver, err)
	}
	return nil
}

// Copy returns a deep copy of the handle.
func (h *TaskHandle) Copy() *TaskHandle {
	if h == nil {
		return nil
	}
	out := *h
	out.Config = h.Config.Copy()
	out.DriverState = slices.Clone(h.DriverState)
	return &out
}
