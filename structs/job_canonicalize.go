package structs

import (
	"path"
	"strings"
	"time"
)

// Defaults Canonicalize applies besides those in job.go, group.go and task.go.
const (
	DefaultDatacenter          = "*"
	DefaultCheckRestartGrace   = time.Second
	DefaultChangeScriptTimeout = 5 * time.Second
	DefaultTemplatePerms       = "0644"
	DefaultDisconnectReconcile = "best_score"
	DefaultScalingType         = "horizontal"
)

// DefaultMigrateStrategy is applied to groups of service jobs without a
// migrate block.
func DefaultMigrateStrategy() *MigrateStrategy {
	return &MigrateStrategy{
		MaxParallel: 1, HealthCheck: "checks",
		MinHealthyTime: 10 * time.Second, HealthyDeadline: 5 * time.Minute,
	}
}

// Canonicalize fills in defaults so that every consumer (scheduler, client,
// API readers) sees one complete form. It only fills values that are unset
// and meaningless as zero, so it is idempotent and safe for jobs from the
// API as well as from job files. It does not validate: call Validate after.
func (j *Job) Canonicalize() {
	// A job with null entries is refused by Validate; leave it untouched so
	// that canonicalising never trips over them first.
	if j == nil || len(j.NilEntries()) > 0 {
		return
	}
	if j.Name == "" {
		j.Name = j.ID
	}
	if j.Namespace == "" {
		j.Namespace = DefaultNamespace
	}
	if j.Region == "" {
		j.Region = DefaultRegion
	}
	if j.NodePool == "" {
		j.NodePool = DefaultNodePool
	}
	if j.Priority == 0 {
		j.Priority = DefaultJobPriority
	}
	if j.Type == "" {
		j.Type = JobTypeService
	}
	if len(j.Datacenters) == 0 {
		j.Datacenters = []string{DefaultDatacenter}
	}
	if j.Update == (UpdateStrategy{}) && (j.Type == JobTypeService || j.Type == JobTypeSystem) {
		j.Update = DefaultUpdateStrategy()
	}
	if j.Periodic != nil {
		j.Periodic.canonicalize()
	}
	if j.ParameterizedJob != nil && j.ParameterizedJob.Payload == "" {
		j.ParameterizedJob.Payload = "optional"
	}
	for i, c := range j.Constraints {
		j.Constraints[i] = c.canonical()
	}
	canonicalizeAffinities(j.Affinities)
	for _, tg := range j.TaskGroups {
		if tg != nil {
			tg.canonicalize(j)
		}
	}
}

func (p *PeriodicConfig) canonicalize() {
	if p.SpecType == "" {
		p.SpecType = "cron"
	}
	if p.TimeZone == "" {
		p.TimeZone = "UTC"
	}
}

// canonical returns c with its operand alias normalised ("==" → "=").
func (c *Constraint) canonical() *Constraint {
	if c == nil {
		return nil
	}
	if op, ok := NormalizeOperand(c.Operand); ok {
		c.Operand = op
	}
	return c
}

func canonicalizeAffinities(list []*Affinity) {
	for _, a := range list {
		if a == nil {
			continue
		}
		if op, ok := NormalizeOperand(a.Operand); ok {
			a.Operand = op
		}
	}
}

func (tg *TaskGroup) canonicalize(j *Job) {
	if tg.EphemeralDisk == nil {
		tg.EphemeralDisk = DefaultEphemeralDisk()
	} else if tg.EphemeralDisk.SizeMB == 0 {
		tg.EphemeralDisk.SizeMB = DefaultEphemeralDisk().SizeMB
	}
	if tg.RestartPolicy == nil {
		tg.RestartPolicy = DefaultRestartPolicy(j.Type)
	}
	if tg.ReschedulePolicy == nil && !j.Type.IsSystemLike() {
		tg.ReschedulePolicy = DefaultReschedulePolicy(j.Type)
	}
	if tg.Migrate == nil && j.Type == JobTypeService {
		tg.Migrate = DefaultMigrateStrategy()
	}
	if tg.Update == nil && j.Update != (UpdateStrategy{}) && (j.Type == JobTypeService || j.Type == JobTypeSystem) {
		u := j.Update
		tg.Update = &u
	}
	if tg.Disconnect != nil {
		if tg.Disconnect.Reconcile == "" {
			tg.Disconnect.Reconcile = DefaultDisconnectReconcile
		}
		if tg.Disconnect.Replace == nil {
			replace := true
			tg.Disconnect.Replace = &replace
		}
	}
	if tg.Scaling != nil && tg.Scaling.Type == "" {
		tg.Scaling.Type = DefaultScalingType
	}
	for i, c := range tg.Constraints {
		tg.Constraints[i] = c.canonical()
	}
	canonicalizeAffinities(tg.Affinities)
	for _, n := range tg.Networks {
		n.canonicalize()
	}
	for _, s := range tg.Services {
		s.canonicalize(j, tg, nil)
	}
	for _, t := range tg.Tasks {
		if t != nil {
			t.canonicalize(j, tg)
		}
	}
}

// canonicalize sets the mode to host when unset and every port's host
// network to the default one.
func (n *NetworkResource) canonicalize() {
	if n == nil {
		return
	}
	if n.Mode == "" {
		n.Mode = NetworkModeHost
	}
	for i := range n.ReservedPorts {
		if n.ReservedPorts[i].HostNetwork == "" {
			n.ReservedPorts[i].HostNetwork = DefaultHostNetwork
		}
	}
	for i := range n.DynamicPorts {
		if n.DynamicPorts[i].HostNetwork == "" {
			n.DynamicPorts[i].HostNetwork = DefaultHostNetwork
		}
	}
}

// canonicalize fills service defaults; t is nil for group services. The
// default name is <job>-<group>[-<task>].
func (s *Service) canonicalize(j *Job, tg *TaskGroup, t *Task) {
	if s == nil {
		return
	}
	if s.Name == "" {
		s.Name = j.Name + "-" + tg.Name
		if t != nil {
			s.Name += "-" + t.Name
		}
	}
	if s.Provider == "" {
		s.Provider = ServiceProviderConsul
	}
	if s.AddressMode == "" {
		s.AddressMode = AddressModeAuto
	}
	if s.OnUpdate == "" {
		s.OnUpdate = OnUpdateRequireHealthy
	}
	if s.Weights != nil {
		s.Weights.Passing = max(s.Weights.Passing, 1)
		s.Weights.Warning = max(s.Weights.Warning, 1)
	}
	for _, c := range s.Checks {
		if c != nil {
			c.canonicalize(s)
		}
	}
}

func (c *ServiceCheck) canonicalize(s *Service) {
	if c.Name == "" {
		c.Name = "service: \"" + s.Name + "\" check"
	}
	if c.OnUpdate == "" {
		c.OnUpdate = s.OnUpdate
	}
	if c.TaskName == "" {
		c.TaskName = s.TaskName
	}
	if c.Type == CheckTypeHTTP && c.Method == "" {
		c.Method = "GET"
	}
	c.SuccessBeforePassing = max(c.SuccessBeforePassing, 0)
	c.FailuresBeforeCritical = max(c.FailuresBeforeCritical, 0)
	c.FailuresBeforeWarning = max(c.FailuresBeforeWarning, 0)
}

func (t *Task) canonicalize(j *Job, tg *TaskGroup) {
	if t.Resources == nil {
		t.Resources = DefaultResources()
	}
	t.Resources.canonicalize()
	if t.KillTimeout == 0 {
		t.KillTimeout = DefaultKillTimeout
	}
	if t.LogConfig == nil {
		t.LogConfig = DefaultLogConfig()
	}
	if t.LogConfig.MaxFiles == 0 {
		t.LogConfig.MaxFiles = DefaultLogConfig().MaxFiles
	}
	if t.LogConfig.MaxFileSizeMB == 0 {
		t.LogConfig.MaxFileSizeMB = DefaultLogConfig().MaxFileSizeMB
	}
	if t.RestartPolicy == nil && tg.RestartPolicy != nil {
		rp := *tg.RestartPolicy
		t.RestartPolicy = &rp
	}
	if t.Lifecycle != nil && t.Lifecycle.Hook == "" {
		t.Lifecycle = nil
	}
	if t.CSIPluginConfig != nil {
		t.CSIPluginConfig.canonicalize()
	}
	for i, c := range t.Constraints {
		t.Constraints[i] = c.canonical()
	}
	canonicalizeAffinities(t.Affinities)
	for _, s := range t.Services {
		s.canonicalize(j, tg, t)
	}
	for _, tmpl := range t.Templates {
		if tmpl != nil {
			tmpl.canonicalize()
		}
	}
	for _, a := range t.Artifacts {
		if a != nil {
			a.canonicalize()
		}
	}
	for _, vm := range t.VolumeMounts {
		if vm != nil && vm.PropagationMode == "" {
			vm.PropagationMode = "private"
		}
	}
	if t.Vault != nil && t.Vault.ChangeMode == "" {
		t.Vault.ChangeMode = ChangeModeRestart
	}
	if t.Vault != nil && t.Vault.ChangeSignal == "" {
		t.Vault.ChangeSignal = "SIGHUP"
	}
}

// canonicalize gives a task without cpu or cores the default cpu, and
// without memory the default memory.
func (r *Resources) canonicalize() {
	if r.CPU == 0 && r.Cores == 0 {
		r.CPU = DefaultCPU
	}
	if r.MemoryMB == 0 {
		r.MemoryMB = DefaultMemoryMB
	}
	for _, d := range r.Devices {
		if d != nil && d.Count == 0 {
			d.Count = 1
		}
	}
}

func (t *Template) canonicalize() {
	if t.ChangeMode == "" {
		t.ChangeMode = ChangeModeRestart
	}
	if t.Perms == "" {
		t.Perms = DefaultTemplatePerms
	}
	t.ChangeSignal = strings.ToUpper(t.ChangeSignal)
	if t.ChangeMode == ChangeModeSignal && t.ChangeSignal == "" {
		t.ChangeSignal = "SIGHUP"
	}
	if t.LeftDelim == "" {
		t.LeftDelim = "{{"
	}
	if t.RightDelim == "" {
		t.RightDelim = "}}"
	}
	if t.ChangeScript != nil && t.ChangeScript.Timeout == 0 {
		t.ChangeScript.Timeout = DefaultChangeScriptTimeout
	}
}

// canonicalize defaults the mode to any and the destination to local/ (or
// local/<file name> in file mode).
func (a *TaskArtifact) canonicalize() {
	if a.GetterMode == "" {
		a.GetterMode = "any"
	}
	if a.RelativeDest != "" {
		return
	}
	a.RelativeDest = "local/"
	if a.GetterMode == "file" {
		a.RelativeDest = path.Join("local", path.Base(a.GetterSource))
	}
}
