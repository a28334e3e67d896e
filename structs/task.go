package structs

import "time"

// Task is one process (or container) run by a driver.
type Task struct {
	Name            string
	Driver          string
	User            string
	Config          map[string]any
	Env             map[string]string
	Services        []*Service
	Vault           *Vault
	Templates       []*Template
	Constraints     []*Constraint
	Affinities      []*Affinity
	Resources       *Resources
	RestartPolicy   *RestartPolicy
	DispatchPayload *DispatchPayloadConfig
	Lifecycle       *TaskLifecycleConfig
	Meta            map[string]string
	KillTimeout     time.Duration
	LogConfig       *LogConfig
	Artifacts       []*TaskArtifact
	Leader          bool
	ShutdownDelay   time.Duration
	VolumeMounts    []*VolumeMount
	KillSignal      string
	// Identity is the task's identity block for its default workload
	// identity (nil: the token is signed but not exposed to the task).
	Identity *WorkloadIdentity
	// Identities are named identities (not signed yet; see docs/identity.md).
	Identities []*WorkloadIdentity
	// Kind marks tasks roam injects (for example "connect-proxy:<service>").
	Kind TaskKind
	// CSIPluginConfig is the csi_plugin block (accepted, warned about: roam
	// registers no CSI plugins). Left out of JSON when absent, as most tasks
	// have none.
	CSIPluginConfig *TaskCSIPluginConfig `json:",omitempty"`
}

// IsMain reports whether the task is a main task (no lifecycle hook).
func (t *Task) IsMain() bool { return t.Lifecycle == nil || t.Lifecycle.Hook == "" }

// IsPrestart reports whether the task runs before the main tasks.
func (t *Task) IsPrestart() bool {
	return t.Lifecycle != nil && t.Lifecycle.Hook == LifecycleHookPrestart
}

// IsPoststart reports whether the task runs after the main tasks started.
func (t *Task) IsPoststart() bool {
	return t.Lifecycle != nil && t.Lifecycle.Hook == LifecycleHookPoststart
}

// IsPoststop reports whether the task runs after the main tasks stopped.
func (t *Task) IsPoststop() bool {
	return t.Lifecycle != nil && t.Lifecycle.Hook == LifecycleHookPoststop
}

// TaskLifecycleConfig places a task before, beside or after the main tasks.
type TaskLifecycleConfig struct {
	Hook    LifecycleHook
	Sidecar bool
}

// DefaultKillTimeout is used when a task does not set kill_timeout.
const DefaultKillTimeout = 5 * time.Second

// LogConfig controls rotation of a task's stdout/stderr files.
type LogConfig struct {
	MaxFiles      int
	MaxFileSizeMB int
	Disabled      bool
}

// DefaultLogConfig is used when a task has no logs block.
func DefaultLogConfig() *LogConfig { return &LogConfig{MaxFiles: 10, MaxFileSizeMB: 10} }

// TaskArtifact is fetched into the task directory before the task starts.
type TaskArtifact struct {
	GetterSource  string
	GetterOptions map[string]string
	GetterHeaders map[string]string
	GetterMode    string
	RelativeDest  string
	Chown         bool
}

// Template is rendered into the task directory and re-rendered on change.
type Template struct {
	SourcePath    string
	DestPath      string
	EmbeddedTmpl  string
	ChangeMode    ChangeMode
	ChangeSignal  string
	ChangeScript  *ChangeScript
	Splay         time.Duration
	Perms         string
	Uid           *int
	Gid           *int
	LeftDelim     string
	RightDelim    string
	Envvars       bool
	VaultGrace    time.Duration
	Wait          *WaitConfig
	ErrMissingKey bool
	Once          bool
}

// ChangeScript runs in the task when a template with change_mode=script changes.
type ChangeScript struct {
	Command     string
	Args        []string
	Timeout     time.Duration
	FailOnError bool
}

// WaitConfig bounds how long template rendering waits for data to settle.
type WaitConfig struct {
	Min *time.Duration
	Max *time.Duration
}

// VolumeMount mounts a group volume into a task.
type VolumeMount struct {
	Volume          string
	Destination     string
	ReadOnly        bool
	PropagationMode string
	SELinuxLabel    string
}

// Vault is accepted for compatibility; roam has no Vault integration.
type Vault struct {
	Policies     []string
	Role         string
	Namespace    string
	Cluster      string
	Env          bool
	DisableFile  bool
	ChangeMode   ChangeMode
	ChangeSignal string
}

// DispatchPayloadConfig writes a dispatched job's payload into the task.
type DispatchPayloadConfig struct {
	File string
}
