package structs

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Check limits.
const (
	MinCheckInterval = time.Second
	MinCheckTimeout  = time.Second
	MaxCheckNotesLen = 255
)

// validate checks one health check of service s.
func (c *ServiceCheck) validate(p problems, s *Service, labels map[string]Port) {
	if c.Type == "" {
		p.addf("missing type")
	}
	checkParsed(p, "type", c.Type, ParseCheckType)
	if s.provider() == ServiceProviderNomad && c.Type != "" && !slices.Contains(NomadCheckTypes(), c.Type) {
		p.addf("check type %q is not supported by the nomad provider; use http or tcp", c.Type)
	}
	if c.Interval < MinCheckInterval {
		p.addf("interval %s is below the minimum of %s", c.Interval, MinCheckInterval)
	}
	if c.Timeout < MinCheckTimeout {
		p.addf("timeout %s is below the minimum of %s", c.Timeout, MinCheckTimeout)
	}
	switch c.Type {
	case CheckTypeHTTP:
		c.validateHTTP(p)
	case CheckTypeScript:
		if c.Command == "" {
			p.addf("script checks need a command")
		}
	case CheckTypeTCP:
		if s.Connect.HasSidecar() {
			p.addf("tcp checks are not allowed on services with a connect sidecar")
		}
	}
	if c.Type != CheckTypeScript && c.PortLabel == "" && s.PortLabel == "" {
		p.addf("the check needs a port, but neither the check nor the service has one")
	}
	validatePortRef(p, "port", c.PortLabel, labels)
	checkParsed(p, "address_mode", c.AddressMode, ParseCheckAddressMode)
	checkOneOf(p, "initial_status", c.InitialStatus, []string{"passing", "warning", "critical"})
	checkParsed(p, "on_update", c.OnUpdate, ParseOnUpdate)
	if len(c.Notes) > MaxCheckNotesLen {
		p.addf("notes are %d characters long; the limit is %d", len(c.Notes), MaxCheckNotesLen)
	}
	c.validateRestart(p)
}

func (c *ServiceCheck) validateHTTP(p problems) {
	if c.Path == "" {
		p.addf("http checks need a path")
	} else if u, err := url.Parse(c.Path); err == nil && u.IsAbs() {
		p.addf("path %q must be relative to the service address", c.Path)
	}
	checkOneOf(p, "protocol", c.Protocol, CheckProtocols())
	if c.Method != "" && !interpolated(c.Method) && !validMethod(c.Method) {
		p.addf("method %q is not an HTTP method", c.Method)
	}
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// validateRestart checks check_restart against on_update: a check whose
// warnings are ignored during updates must also ignore them for restarts,
// and an ignored check cannot restart its task.
func (c *ServiceCheck) validateRestart(p problems) {
	cr := c.CheckRestart
	if cr == nil {
		return
	}
	if cr.Limit < 0 {
		p.addf("check_restart limit must not be negative")
	}
	if cr.Limit == 0 {
		return
	}
	switch c.OnUpdate {
	case OnUpdateIgnoreWarnings:
		if !cr.IgnoreWarnings {
			p.addf("on_update %q requires check_restart ignore_warnings = true", OnUpdateIgnoreWarnings)
		}
	case OnUpdateIgnore:
		p.addf("on_update %q cannot be combined with check_restart", OnUpdateIgnore)
	}
}

func (tg *TaskGroup) validateTasks(p problems, j *Job) {
	if len(tg.Tasks) == 0 {
		// A gateway group is written without tasks: Nomad injects the
		// gateway's (Job.Warnings says roam does not yet).
		if !tg.HasGateway() {
			p.addf("group must have at least one task")
		}
		return
	}
	names := map[string]bool{}
	mains, leaders := 0, 0
	labels := tg.portLabels()
	for i, t := range tg.Tasks {
		if t == nil {
			p.addf("task %d is empty", i+1)
			continue
		}
		tp := p.in("Task %q", t.Name)
		if t.Name == "" {
			tp = p.in("Task %d", i+1)
		} else if names[t.Name] {
			tp.addf("task name is used more than once in the group")
		}
		names[t.Name] = true
		if t.IsMain() {
			mains++
		}
		if t.Leader {
			leaders++
		}
		t.validate(tp, tg, labels)
	}
	if mains == 0 {
		p.addf("group must have at least one main task (a task without a lifecycle hook)")
	}
	if leaders > 1 {
		p.addf("only one task may be the leader; found %d", leaders)
	}
}

// validate checks one task of group tg.
func (t *Task) validate(p problems, tg *TaskGroup, labels map[string]Port) {
	if t.Name == "" {
		p.addf("missing name")
	}
	validateTaskName(p, t.Name)
	if t.Driver == "" {
		p.addf("missing driver")
	}
	validateConstraints(p, t.Constraints)
	validateAffinities(p, t.Affinities)
	if t.Resources != nil {
		t.Resources.validate(p.in("Resources"))
	}
	if t.RestartPolicy != nil {
		t.RestartPolicy.validate(p.in("Restart policy"))
	}
	t.validateLifecycle(p)
	if t.CSIPluginConfig != nil {
		t.CSIPluginConfig.validate(p.in("CSI plugin"))
	}
	if d := t.DispatchPayload; d != nil && d.File != "" {
		// The payload is written to local/<file>.
		validateTaskPath(p.in("Dispatch payload"), "file", "local", d.File)
	}
	if l := t.LogConfig; l != nil && (l.MaxFiles < 1 || l.MaxFileSizeMB < 1) {
		p.addf("logs max_files and max_file_size must be at least 1")
	}
	for i, tmpl := range t.Templates {
		if tmpl != nil {
			tmpl.validate(p.in("Template %d", i+1))
		}
	}
	if t.Vault != nil {
		checkParsed(p.in("Vault"), "change_mode", t.Vault.ChangeMode, ParseVaultChangeMode)
	}
	for i, a := range t.Artifacts {
		if a != nil {
			a.validate(p.in("Artifact %d", i+1))
		}
	}
	for i, vm := range t.VolumeMounts {
		if vm != nil {
			vm.validate(p.in("Volume mount %d", i+1), tg)
		}
	}
	for _, s := range t.Services {
		if s != nil {
			s.validate(p.in("Service %q", s.Name), labels, tg, t)
		}
	}
}

func (t *Task) validateLifecycle(p problems) {
	l := t.Lifecycle
	if l == nil {
		return
	}
	if l.Hook == "" {
		p.addf("lifecycle needs a hook")
		return
	}
	if _, err := ParseLifecycleHook(string(l.Hook)); err != nil {
		p.addf("%v", err)
	}
	if l.Hook == LifecycleHookPoststop && l.Sidecar {
		p.addf("poststop tasks cannot be sidecars")
	}
}

// validate checks memory and CPU: memory has a floor, memory_max a floor of
// memory, and cpu and cores are alternatives.
func (r *Resources) validate(p problems) {
	if r.MemoryMB < MinMemoryMB {
		p.addf("memory must be at least %d MB; got %d", MinMemoryMB, r.MemoryMB)
	}
	if r.MemoryMaxMB != 0 && r.MemoryMaxMB < r.MemoryMB {
		p.addf("memory_max %d MB must not be less than memory %d MB", r.MemoryMaxMB, r.MemoryMB)
	}
	if r.CPU > 0 && r.Cores > 0 {
		p.addf("cpu and cores cannot both be set")
	}
	if r.CPU < 0 || r.Cores < 0 {
		p.addf("cpu and cores must not be negative")
	}
	if r.CPU == 0 && r.Cores == 0 {
		p.addf("one of cpu or cores must be set")
	}
	for i, d := range r.Devices {
		if d == nil {
			continue
		}
		if d.Name == "" {
			p.addf("device %d has no name", i+1)
		}
		if d.Count == 0 {
			p.addf("device %q count must be at least 1", d.Name)
		}
		validateConstraints(p.in("Device %q", d.Name), d.Constraints)
		validateAffinities(p.in("Device %q", d.Name), d.Affinities)
	}
}

func (t *Template) validate(p problems) {
	switch {
	case t.SourcePath == "" && t.EmbeddedTmpl == "":
		p.addf("one of data or source is required")
	case t.SourcePath != "" && t.EmbeddedTmpl != "":
		p.addf("data and source cannot both be set")
	}
	if t.DestPath == "" {
		p.addf("missing destination")
	}
	validateTaskPath(p, "destination", "", t.DestPath)
	// The source is read by the client, as root, from the task directory:
	// private/ holds the executor's spec with the task's environment.
	if t.SourcePath != "" && AgentOwnedTaskPath(t.SourcePath) {
		p.addf("%s", AgentOwnedProblem("source", t.SourcePath))
	}
	checkParsed(p, "change_mode", t.ChangeMode, ParseTemplateChangeMode)
	switch t.ChangeMode {
	case ChangeModeSignal:
		if t.ChangeSignal == "" {
			p.addf("change_signal is required when change_mode is %q", ChangeModeSignal)
		}
	case ChangeModeScript:
		if t.ChangeScript == nil || t.ChangeScript.Command == "" {
			p.addf("change_script with a command is required when change_mode is %q", ChangeModeScript)
		}
	}
	if t.Perms != "" {
		if _, err := strconv.ParseUint(t.Perms, 8, 12); err != nil {
			p.addf("perms %q must be an octal file mode such as \"0644\"", t.Perms)
		}
	}
	if w := t.Wait; w != nil && w.Min != nil && w.Max != nil && *w.Min > *w.Max {
		p.addf("wait min %s must not be greater than max %s", *w.Min, *w.Max)
	}
	if t.EmbeddedTmpl != "" {
		for _, tp := range CheckTemplateText(t.EmbeddedTmpl, t.LeftDelim, t.RightDelim) {
			p.addf("data: %s", tp)
		}
	}
}

func (a *TaskArtifact) validate(p problems) {
	if a.GetterSource == "" {
		p.addf("missing source")
	}
	checkOneOf(p, "mode", a.GetterMode, ArtifactModes())
	validateTaskPath(p, "destination", "", a.RelativeDest)
}

func (vm *VolumeMount) validate(p problems, tg *TaskGroup) {
	if vm.Volume == "" {
		p.addf("missing volume")
	} else if _, ok := tg.Volumes[vm.Volume]; !ok {
		p.addf("volume %q is not defined in the group", vm.Volume)
	}
	if vm.Destination == "" {
		p.addf("missing destination")
	}
	checkOneOf(p, "propagation_mode", vm.PropagationMode, PropagationModes())
}
