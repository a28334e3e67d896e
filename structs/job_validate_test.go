package structs

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// validJob is a canonical service job with one bridge group, a port, a
// Connect service and a task; each test case breaks one thing.
func validJob() *Job {
	j := &Job{ID: "shop", Datacenters: []string{"dc1"}, TaskGroups: []*TaskGroup{{
		Name:  "web",
		Count: 2,
		Networks: []*NetworkResource{{
			Mode:          NetworkModeBridge,
			ReservedPorts: []Port{{Label: "admin", Value: 9000}},
			DynamicPorts:  []Port{{Label: "http", To: 8080}},
		}},
		Volumes: map[string]*VolumeRequest{"data": {Name: "data", Type: "host", Source: "data"}},
		Services: []*Service{{
			Name: "web", PortLabel: "8080",
			Connect: &ConsulConnect{SidecarService: &ConsulSidecarService{Proxy: &ConsulProxy{
				Upstreams: []ConsulUpstream{{DestinationName: "db", LocalBindPort: 5432}},
			}}},
			Checks: []*ServiceCheck{{Type: "http", Path: "/health", Interval: 10 * time.Second, Timeout: 2 * time.Second, Expose: true}},
		}},
		Tasks: []*Task{{
			Name: "app", Driver: "docker",
			Templates:    []*Template{{EmbeddedTmpl: "x", DestPath: "local/x"}},
			Artifacts:    []*TaskArtifact{{GetterSource: "https://example.com/a.tgz"}},
			VolumeMounts: []*VolumeMount{{Volume: "data", Destination: "/data"}},
		}},
	}}}
	j.Canonicalize()
	return j
}

func TestValidate(t *testing.T) {
	const g, task = `Task group "web": `, `Task group "web": Task "app": `
	tests := []struct {
		name   string
		mutate func(j *Job)
		want   []string
	}{
		{"valid", func(*Job) {}, nil},
		{"id with space", func(j *Job) { j.ID = "my job" }, []string{`job ID "my job" contains a space`}},
		{"id too long", func(j *Job) { j.ID = strings.Repeat("a", 129) }, []string{"job ID is 129 characters long; the limit is 128"}},
		{"missing id", func(j *Job) { j.ID = "" }, []string{"missing job ID"}},
		{"bad type", func(j *Job) { j.Type = "servic" }, []string{
			`unknown job type "servic" (want one of "service", "batch", "system" or "sysbatch")`}},
		{"priority", func(j *Job) { j.Priority = 101 }, []string{"job priority 101 is out of range; it must be between 1 and 100"}},
		{"no datacenters", func(j *Job) { j.Datacenters = nil }, []string{"job must have at least one datacenter"}},
		{"no groups", func(j *Job) { j.TaskGroups = nil }, []string{"job must have at least one task group"}},
		{"duplicate group", func(j *Job) { j.TaskGroups = append(j.TaskGroups, j.Copy().TaskGroups[0]) }, []string{
			g + "group name is used more than once"}},
		{"negative count", func(j *Job) { j.TaskGroups[0].Count = -1 }, []string{g + "count must not be negative; got -1"}},
		{"no main task", func(j *Job) {
			j.TaskGroups[0].Tasks[0].Lifecycle = &TaskLifecycleConfig{Hook: LifecycleHookPrestart}
		}, []string{g + "group must have at least one main task (a task without a lifecycle hook)"}},
		{"duplicate task and two leaders", func(j *Job) {
			second := *j.TaskGroups[0].Tasks[0]
			j.TaskGroups[0].Tasks[0].Leader, second.Leader = true, true
			j.TaskGroups[0].Tasks = append(j.TaskGroups[0].Tasks, &second)
		}, []string{task + "task name is used more than once in the group", g + "only one task may be the leader; found 2"}},
		{"missing driver", func(j *Job) { j.TaskGroups[0].Tasks[0].Driver = "" }, []string{task + "missing driver"}},
		{"restart policy", func(j *Job) {
			j.TaskGroups[0].RestartPolicy = &RestartPolicy{Attempts: -1, Interval: time.Second, Mode: "retry"}
		}, []string{
			g + `Restart policy: unknown restart mode "retry" (want one of "fail" or "delay")`,
			g + "Restart policy: attempts must not be negative; got -1",
			g + "Restart policy: interval 1s is below the minimum of 5s",
		}},
		{"restart attempts do not fit", func(j *Job) {
			j.TaskGroups[0].Tasks[0].RestartPolicy = &RestartPolicy{Attempts: 10, Delay: time.Minute, Interval: 5 * time.Minute, Mode: RestartModeFail}
		}, []string{task + "Restart policy: 10 attempts with a delay of 1m0s do not fit in an interval of 5m0s"}},
		{"reschedule on system job", func(j *Job) {
			j.Type = JobTypeSystem
			j.TaskGroups[0].Migrate = nil
		}, []string{g + "system and sysbatch jobs cannot have a reschedule policy"}},
		{"reschedule policy", func(j *Job) {
			j.TaskGroups[0].ReschedulePolicy = &ReschedulePolicy{Attempts: 2, Delay: time.Second, DelayFunction: "linear"}
		}, []string{
			g + `Reschedule policy: delay_function "linear" is not one of constant, exponential, fibonacci`,
			g + "Reschedule policy: delay 1s is below the minimum of 5s",
			g + "Reschedule policy: max_delay 0s must not be less than delay 1s",
			g + "Reschedule policy: interval must be set when attempts is 2",
		}},
		{"update on batch job", func(j *Job) {
			j.Type = JobTypeBatch
			j.TaskGroups[0].Migrate = nil
			j.TaskGroups[0].ReschedulePolicy = DefaultReschedulePolicy(JobTypeBatch)
		}, []string{g + "batch jobs cannot have an update block"}},
		{"update strategy", func(j *Job) {
			j.TaskGroups[0].Update = &UpdateStrategy{MaxParallel: 1, HealthCheck: "always", MinHealthyTime: time.Minute,
				HealthyDeadline: time.Minute, ProgressDeadline: 30 * time.Second, AutoPromote: true}
		}, []string{
			g + `Update: health_check "always" is not one of checks, task_states, manual`,
			g + "Update: auto_promote requires canary to be greater than zero",
			g + "Update: min_healthy_time 1m0s must be less than healthy_deadline 1m0s",
			g + "Update: healthy_deadline 1m0s must be less than progress_deadline 30s",
		}},
		{"constraints", func(j *Job) {
			j.Constraints = []*Constraint{
				{LTarget: "${attr.kernel.name}", Operand: "=~", RTarget: "linux"},
				{LTarget: "${attr.kernel.name}", Operand: ConstraintRegex, RTarget: "("},
				{LTarget: "${attr.os.version}", Operand: ConstraintVersion, RTarget: ">> 1"},
				{LTarget: "${attr.os.name}", Operand: ConstraintEqual},
				{LTarget: "${meta.rack}", Operand: ConstraintDistinctProperty, RTarget: "x"},
				{Operand: ConstraintDistinctHosts, RTarget: "yes"},
				{LTarget: "${attr.x}", Operand: "==", RTarget: "${meta.y}"},
			}
		}, []string{
			`Constraint 1: unknown operator "=~"`,
			"Constraint 2: invalid regular expression \"(\": error parsing regexp: missing closing ): `(`",
			`Constraint 3: invalid version constraint ">> 1": malformed constraint: >> 1`,
			`Constraint 4: value is required for operator "="`,
			`Constraint 5: distinct_property limit "x" must be a positive whole number`,
			`Constraint 6: distinct_hosts value "yes" must be true or false`,
		}},
		{"affinities", func(j *Job) {
			j.TaskGroups[0].Affinities = []*Affinity{
				{LTarget: "${node.class}", Operand: "=", RTarget: "a", Weight: 0},
				{LTarget: "${node.class}", Operand: "=", RTarget: "a", Weight: 120},
				{Operand: ConstraintDistinctHosts, Weight: 50},
			}
		}, []string{
			g + "Affinity 1: weight must not be zero",
			g + "Affinity 2: weight 120 is out of range; it must be between -100 and 100",
			g + `Affinity 3: operator "distinct_hosts" is not allowed in an affinity`,
		}},
		{"spreads", func(j *Job) {
			j.Spreads = []*Spread{{Attribute: "${node.datacenter}", Weight: 50, SpreadTarget: []*SpreadTarget{
				{Value: "dc1", Percent: 70}, {Value: "dc1", Percent: 50},
			}}, {Weight: 101}}
		}, []string{
			`Spread 1: target "dc1" is listed more than once`,
			"Spread 1: target percentages add up to 120, more than 100",
			"Spread 2: attribute is required",
			"Spread 2: weight 101 is out of range; it must be between 0 and 100",
		}},
		{"affinity on system job", func(j *Job) {
			j.Type = JobTypeSystem
			j.TaskGroups[0].ReschedulePolicy, j.TaskGroups[0].Migrate = nil, nil
			j.Affinities = []*Affinity{{LTarget: "${node.class}", Operand: "=", RTarget: "a", Weight: 50}}
		}, []string{"system jobs cannot have affinities"}},
		{"two networks", func(j *Job) {
			j.TaskGroups[0].Networks = append(j.TaskGroups[0].Networks, &NetworkResource{Mode: NetworkModeHost})
		}, []string{
			g + "only one network block is allowed per group; found 2",
			g + "connect requires exactly one group network; found 2",
		}},
		{"network mode", func(j *Job) { j.TaskGroups[0].Networks[0].Mode = "bridg" }, []string{
			g + `Network: unknown network mode "bridg" (want one of "host", "bridge", "none" or "cni/<name>")`,
			g + `connect requires network mode "bridge" or "cni/<name>"; the group uses "bridg"`,
		}},
		{"connect in host mode", func(j *Job) { j.TaskGroups[0].Networks[0].Mode = NetworkModeHost }, []string{
			g + `connect requires network mode "bridge" or "cni/<name>"; the group uses "host"`,
		}},
		{"connect native in host mode", func(j *Job) {
			j.TaskGroups[0].Networks[0].Mode = NetworkModeHost
			j.TaskGroups[0].Services[0].Connect = &ConsulConnect{Native: true}
		}, nil},
		{"ports", func(j *Job) {
			n := j.TaskGroups[0].Networks[0]
			n.ReservedPorts = append(n.ReservedPorts,
				Port{Label: "http", Value: 70000},
				Port{Label: "other", Value: 9000, To: -2},
				Port{Label: "private", Value: 9000, HostNetwork: "private", IgnoreCollision: true},
			)
		}, []string{
			g + `Network: Port "http": static port 70000 is out of range; it must be between 1 and 65535`,
			g + `Network: Port "other": to -2 is out of range; it must be between -1 and 65535`,
			g + `Network: static port 9000 is already reserved on host network "default" by port "admin"`,
			g + `Network: Port "private": ignore_collision is only allowed in host network mode`,
			g + `Network: port label "http" is already used by this group's network`,
		}},
		{"hostname in host mode", func(j *Job) {
			j.TaskGroups[0].Services = nil
			n := j.TaskGroups[0].Networks[0]
			n.Mode, n.Hostname = NetworkModeHost, "bad_name"
			n.DNS = &DNSConfig{Servers: []string{"dns.local", "${attr.dns}"}}
			n.CNI = &CNIConfig{Args: map[string]string{"A": "b;c"}}
		}, []string{
			g + `Network: hostname cannot be set when the network mode is "host"`,
			g + `Network: hostname "bad_name" is not a valid DNS name`,
			g + `Network: DNS server "dns.local" is not an IP address`,
			g + `Network: CNI arg "A": keys and values must not contain ';'`,
		}},
		{"service names and ports", func(j *Job) {
			s := j.TaskGroups[0].Services[0]
			s.Name, s.PortLabel = "web_app", "nope"
			j.TaskGroups[0].Services = append(j.TaskGroups[0].Services,
				&Service{Name: "${JOB}-${TASKGROUP}", PortLabel: "http", Provider: "consul", AddressMode: "driver"})
		}, []string{
			g + `Service "web_app": service name "web_app" must be a valid RFC 1123 label: letters, digits and dashes, at most 63 characters, not starting or ending with a dash`,
			g + `Service "web_app": port label "nope" is not defined in the group network`,
			g + `Service "${JOB}-${TASKGROUP}": address_mode "driver" is only allowed on task services`,
		}},
		{"unknown typed values", func(j *Job) {
			s := j.TaskGroups[0].Services[0]
			s.Provider, s.AddressMode, s.OnUpdate = "nomda", "hots", "never"
			s.Connect = nil
		}, []string{
			g + `Service "web": provider: unknown service provider "nomda" (want one of "consul" or "nomad")`,
			g + `Service "web": address_mode: unknown service address mode "hots" (want one of "auto", "host", "driver", "alloc" or "alloc_ipv6")`,
			g + `Service "web": on_update: unknown on_update mode "never" (want one of "require_healthy", "ignore_warnings" or "ignore")`,
		}},
		{"providers", func(j *Job) {
			j.TaskGroups[0].Services[0].Provider = ServiceProviderNomad
			j.TaskGroups[0].Tasks[0].Services = []*Service{{Name: "task-svc", Provider: ServiceProviderConsul}}
		}, []string{
			g + `Service "web": Connect: services with provider "nomad" cannot use connect`,
			g + `all services of a group must use the same provider; found both "consul" and "nomad"`,
		}},
		{"checks", func(j *Job) {
			s := j.TaskGroups[0].Services[0]
			s.PortLabel = ""
			s.Checks = []*ServiceCheck{
				{Name: "fast", Type: "http", Interval: 500 * time.Millisecond, Timeout: time.Second, PortLabel: "http"},
				{Name: "tcp", Type: "tcp", Interval: time.Second, Timeout: time.Second, PortLabel: "missing"},
				{Name: "noport", Type: "grpc", Interval: time.Second, Timeout: time.Second},
			}
		}, []string{
			g + `Service "web": Check "fast": interval 500ms is below the minimum of 1s`,
			g + `Service "web": Check "fast": http checks need a path`,
			g + `Service "web": Check "tcp": tcp checks are not allowed on services with a connect sidecar`,
			g + `Service "web": Check "tcp": port label "missing" is not defined in the group network`,
			g + `Service "web": Check "noport": the check needs a port, but neither the check nor the service has one`,
		}},
		{"upstreams", func(j *Job) {
			px := j.TaskGroups[0].Services[0].Connect.SidecarService.Proxy
			px.Upstreams = append(px.Upstreams, ConsulUpstream{DestinationName: "cache", LocalBindPort: 5432}, ConsulUpstream{})
		}, []string{
			g + `Service "web": Connect: Proxy: Upstream 3: missing destination_name`,
			g + `Service "web": Connect: Proxy: Upstream 3: local_bind_port or local_bind_socket_path is required`,
			g + `upstreams "db" and "cache" use the same local address 127.0.0.1:5432`,
		}},
		{"volumes", func(j *Job) {
			j.TaskGroups[0].Volumes["data"].Source = ""
			j.TaskGroups[0].Tasks[0].VolumeMounts = append(j.TaskGroups[0].Tasks[0].VolumeMounts,
				&VolumeMount{Volume: "logs", Destination: "/logs", PropagationMode: "private"})
		}, []string{
			g + `Volume "data": missing source`,
			task + `Volume mount 2: volume "logs" is not defined in the group`,
		}},
		{"lifecycle", func(j *Job) {
			j.TaskGroups[0].Tasks = append(j.TaskGroups[0].Tasks,
				&Task{Name: "cleanup", Driver: "exec", Lifecycle: &TaskLifecycleConfig{Hook: LifecycleHookPoststop, Sidecar: true},
					Resources: DefaultResources(), LogConfig: &LogConfig{MaxFiles: 1, MaxFileSizeMB: 1}},
				&Task{Name: "pre", Driver: "exec", Lifecycle: &TaskLifecycleConfig{Hook: "before"},
					Resources: DefaultResources(), LogConfig: &LogConfig{MaxFiles: 1, MaxFileSizeMB: 1}})
		}, []string{
			g + `Task "cleanup": poststop tasks cannot be sidecars`,
			g + `Task "pre": unknown lifecycle hook "before" (want one of "prestart", "poststart" or "poststop")`,
		}},
		{"resources", func(j *Job) {
			j.TaskGroups[0].Tasks[0].Resources = &Resources{CPU: 100, Cores: 1, MemoryMB: 5, MemoryMaxMB: 4}
		}, []string{
			task + "Resources: memory must be at least 10 MB; got 5",
			task + "Resources: memory_max 4 MB must not be less than memory 5 MB",
			task + "Resources: cpu and cores cannot both be set",
		}},
		{"templates and artifacts", func(j *Job) {
			tk := j.TaskGroups[0].Tasks[0]
			tk.Templates = []*Template{
				{EmbeddedTmpl: "x", SourcePath: "y", DestPath: "a", ChangeMode: "restart", Perms: "0644"},
				{ChangeMode: "signal", Perms: "rw"},
			}
			tk.Artifacts = []*TaskArtifact{{GetterMode: "any"}}
		}, []string{
			task + "Template 1: data and source cannot both be set",
			task + "Template 2: one of data or source is required",
			task + "Template 2: missing destination",
			task + `Template 2: change_signal is required when change_mode is "signal"`,
			task + `Template 2: perms "rw" must be an octal file mode such as "0644"`,
			task + "Artifact 1: missing source",
		}},
		// Accepted, as Nomad accepts it since 1.x (validation parity).
		{"logs exceed disk", func(j *Job) {
			j.TaskGroups[0].EphemeralDisk.SizeMB = 50
		}, nil},
		{"scaling", func(j *Job) {
			j.TaskGroups[0].Scaling = &ScalingPolicy{Min: 3, Max: 5, Enabled: true, Type: "horizontal"}
		}, []string{g + "Scaling: count 2 must be between min 3 and max 5"}},
		{"periodic service", func(j *Job) {
			j.Periodic = &PeriodicConfig{Enabled: true, SpecType: "cron"}
		}, []string{"Periodic: only batch and sysbatch jobs can be periodic", "Periodic: missing cron specification"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := validJob()
			tt.mutate(j)
			err := j.Validate()
			var got []string
			if err != nil {
				var verr *ValidationError
				if !errors.As(err, &verr) {
					t.Fatalf("error is %T, want *ValidationError", err)
				}
				got = verr.Problems
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestValidationErrorListsOnePerLine(t *testing.T) {
	j := validJob()
	j.ID, j.Priority = "", 0
	err := j.Validate()
	want := "missing job ID\njob priority 0 is out of range; it must be between 1 and 100"
	if err == nil || err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err, want)
	}
}

func TestWarnings(t *testing.T) {
	j := validJob()
	j.TaskGroups[0].Services[0].PortLabel = "http"
	j.TaskGroups[0].Networks[0].MBits = 10
	j.TaskGroups[0].Tasks[0].KillTimeout = time.Minute
	j.TaskGroups[0].Tasks[0].Identities = []*WorkloadIdentity{{Name: "vault_default", Audience: []string{"vault.io"}}}
	want := []string{
		`Task group "web": Network: mbits is deprecated and ignored`,
		`Task group "web": Service "web": port "http" maps to 8080 inside the network namespace, but the sidecar forwards to the port registered for the service; use port = "8080" or set proxy local_service_port = 8080`,
		`Task group "web": Task "app": kill_timeout 1m0s is above the client's default maximum of 30s and may be capped`,
		`Task group "web": Task "app": identity "vault_default" is not signed by this version of roam; the task gets no token for it (only the default identity is)`,
	}
	if got := j.Warnings(); !slices.Equal(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
