package api

import (
	"encoding/json"
	"time"
)

// Wire types of the client endpoints (/v1/client/...): the allocation file
// system, logs, resource usage, restart, signal and exec. Their shapes are
// Nomad's, so Nomad's Go client and CLI can read them.

// AllocFileInfo describes one file of an allocation directory.
type AllocFileInfo struct {
	Name     string
	IsDir    bool
	Size     int64
	FileMode string
	ModTime  time.Time
	// ContentType is sniffed from the first bytes of regular files.
	ContentType string `json:",omitempty"`
}

// StreamFrame is one frame of fs/stream and fs/logs. Offset is the file
// offset just past Data, File the file (relative to the allocation
// directory) the data comes from. A frame with no fields is a heartbeat.
type StreamFrame struct {
	Offset    int64  `json:",omitempty"`
	Data      []byte `json:",omitempty"`
	File      string `json:",omitempty"`
	FileEvent string `json:",omitempty"`
}

// File events of a stream.
const (
	FileEventDeleted   = "file deleted"
	FileEventTruncated = "file truncated"
)

// IsHeartbeat reports whether the frame carries nothing.
func (f *StreamFrame) IsHeartbeat() bool {
	return len(f.Data) == 0 && f.Offset == 0 && f.File == "" && f.FileEvent == ""
}

// Stream origins.
const (
	OriginStart = "start"
	OriginEnd   = "end"
)

// AllocResourceUsage is GET /v1/client/allocation/:id/stats: the usage of
// each running task and their sum.
type AllocResourceUsage struct {
	ResourceUsage *ResourceUsage
	Tasks         map[string]*TaskResourceUsage
	Timestamp     int64
}

// TaskResourceUsage is one task's usage, with a breakdown per process.
type TaskResourceUsage struct {
	ResourceUsage *ResourceUsage
	Timestamp     int64
	Pids          map[string]*ResourceUsage
}

// ResourceUsage is memory and CPU use.
type ResourceUsage struct {
	MemoryStats *MemoryStats
	CpuStats    *CpuStats
	DeviceStats []json.RawMessage
}

// MemoryStats is memory use in bytes; Measured lists the fields the driver
// measured ("RSS", "Usage", ...).
type MemoryStats struct {
	RSS            uint64
	Cache          uint64
	Swap           uint64
	Usage          uint64
	MaxUsage       uint64
	KernelUsage    uint64
	KernelMaxUsage uint64
	Measured       []string
}

// CpuStats is CPU use: Percent of one core, TotalTicks the same in MHz.
type CpuStats struct {
	SystemMode       float64
	UserMode         float64
	TotalTicks       float64
	ThrottledPeriods uint64
	ThrottledTime    uint64
	Percent          float64
	Measured         []string
}

// AllocRestartRequest is the body of PUT /v1/client/allocation/:id/restart:
// one task, or (empty TaskName) every running task.
type AllocRestartRequest struct {
	TaskName string
	AllTasks bool
}

// AllocSignalRequest is the body of PUT /v1/client/allocation/:id/signal:
// one task, or (empty Task) every running task.
type AllocSignalRequest struct {
	Task   string
	Signal string
}

// Exec frames. The websocket of /v1/client/allocation/:id/exec carries JSON
// text messages with lower-case keys, as Nomad's do.

// ExecStreamingIOOperation is a chunk of a stream, or its end.
type ExecStreamingIOOperation struct {
	Data  []byte `json:"data,omitempty"`
	Close bool   `json:"close,omitempty"`
}

// TerminalSize is a terminal's size in characters.
type TerminalSize struct {
	Height int `json:"height,omitempty"`
	Width  int `json:"width,omitempty"`
}

// ExecStreamingInput is a message from the user: stdin, a terminal resize,
// or (empty) a heartbeat.
type ExecStreamingInput struct {
	Stdin   *ExecStreamingIOOperation `json:"stdin,omitempty"`
	TTYSize *TerminalSize             `json:"tty_size,omitempty"`
}

// ExecStreamingExitResult is how the command ended.
type ExecStreamingExitResult struct {
	ExitCode int `json:"exit_code"`
}

// ExecStreamingOutput is a message to the user: output, or the exit.
type ExecStreamingOutput struct {
	Stdout *ExecStreamingIOOperation `json:"stdout,omitempty"`
	Stderr *ExecStreamingIOOperation `json:"stderr,omitempty"`
	Exited bool                      `json:"exited,omitempty"`
	Result *ExecStreamingExitResult  `json:"result,omitempty"`
}

// HostStats is GET /v1/client/stats: the node's own usage, in Nomad's shape.
type HostStats struct {
	Memory           *HostMemoryStats
	CPU              []*HostCPUStats
	DiskStats        []*HostDiskStats
	AllocDirStats    *HostDiskStats
	DeviceStats      []json.RawMessage
	Uptime           uint64
	Timestamp        int64
	CPUTicksConsumed float64
}

// HostMemoryStats is the host's memory in bytes.
type HostMemoryStats struct {
	Total     uint64
	Available uint64
	Used      uint64
	Free      uint64
}

// HostCPUStats is one CPU's time split, in percent.
type HostCPUStats struct {
	CPU    string
	User   float64
	System float64
	Idle   float64
}

// HostDiskStats is one filesystem's usage.
type HostDiskStats struct {
	Device            string
	Mountpoint        string
	Size              uint64
	Used              uint64
	Available         uint64
	UsedPercent       float64
	InodesUsedPercent float64
}

// AllocCheckStatus is one check of GET /v1/client/allocation/:id/checks
// (and /v1/allocation/:id/checks), in Nomad's shape: Status is the last
// result (success, failure, or pending before the first), Mode what the
// check means for deployments (healthiness, or readiness for on_update =
// "ignore"), Timestamp the result's time in Unix seconds.
type AllocCheckStatus struct {
	ID         string
	Check      string
	Group      string
	Mode       string
	Output     string
	Service    string
	Task       string
	Status     string
	StatusCode int
	Timestamp  int64
	// Health is roam's: the check's status after its thresholds
	// (success_before_passing, failures_before_*), passing, warning or
	// critical: what the catalog holds for it.
	Health string `json:",omitempty"`
}

// AllocCheckStatuses are an allocation's checks by check ID.
type AllocCheckStatuses map[string]AllocCheckStatus

// Check statuses and modes of AllocCheckStatus.
const (
	CheckStatusSuccess   = "success"
	CheckStatusFailure   = "failure"
	CheckStatusPending   = "pending"
	CheckModeHealthiness = "healthiness"
	CheckModeReadiness   = "readiness"
)
