package structs

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestCanonicalizeJobDefaults(t *testing.T) {
	j := &Job{ID: "web", TaskGroups: []*TaskGroup{{Name: "g", Tasks: []*Task{{Name: "t", Driver: "exec"}}}}}
	j.Canonicalize()
	checks := []struct {
		name      string
		got, want any
	}{
		{"name", j.Name, "web"},
		{"namespace", j.Namespace, DefaultNamespace},
		{"region", j.Region, DefaultRegion},
		{"node pool", j.NodePool, DefaultNodePool},
		{"priority", j.Priority, DefaultJobPriority},
		{"type", j.Type, JobTypeService},
		{"datacenters", j.Datacenters, []string{"*"}},
		{"update", j.Update, DefaultUpdateStrategy()},
		{"group update", *j.TaskGroups[0].Update, DefaultUpdateStrategy()},
		{"migrate", j.TaskGroups[0].Migrate, DefaultMigrateStrategy()},
		{"restart", j.TaskGroups[0].RestartPolicy, DefaultRestartPolicy(JobTypeService)},
		{"reschedule", j.TaskGroups[0].ReschedulePolicy, DefaultReschedulePolicy(JobTypeService)},
		{"disk", j.TaskGroups[0].EphemeralDisk, DefaultEphemeralDisk()},
		{"resources", j.TaskGroups[0].Tasks[0].Resources, DefaultResources()},
		{"kill timeout", j.TaskGroups[0].Tasks[0].KillTimeout, DefaultKillTimeout},
		{"logs", j.TaskGroups[0].Tasks[0].LogConfig, DefaultLogConfig()},
		{"task restart", j.TaskGroups[0].Tasks[0].RestartPolicy, DefaultRestartPolicy(JobTypeService)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if err := j.Validate(); err != nil {
		t.Errorf("canonical minimal job does not validate:\n%v", err)
	}
}

func TestCanonicalizeByJobType(t *testing.T) {
	tests := []struct {
		typ        JobType
		restart    *RestartPolicy
		reschedule *ReschedulePolicy
		update     bool
		migrate    bool
	}{
		{JobTypeService, DefaultRestartPolicy(JobTypeService), DefaultReschedulePolicy(JobTypeService), true, true},
		{JobTypeBatch, DefaultRestartPolicy(JobTypeBatch), DefaultReschedulePolicy(JobTypeBatch), false, false},
		{JobTypeSystem, DefaultRestartPolicy(JobTypeSystem), nil, true, false},
		{JobTypeSysbatch, DefaultRestartPolicy(JobTypeSysbatch), nil, false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			j := &Job{ID: "j", Type: tt.typ, TaskGroups: []*TaskGroup{{Name: "g", Tasks: []*Task{{Name: "t", Driver: "exec"}}}}}
			j.Canonicalize()
			tg := j.TaskGroups[0]
			if !reflect.DeepEqual(tg.RestartPolicy, tt.restart) {
				t.Errorf("restart = %+v, want %+v", tg.RestartPolicy, tt.restart)
			}
			if !reflect.DeepEqual(tg.ReschedulePolicy, tt.reschedule) {
				t.Errorf("reschedule = %+v, want %+v", tg.ReschedulePolicy, tt.reschedule)
			}
			if (tg.Update != nil) != tt.update || (tg.Migrate != nil) != tt.migrate {
				t.Errorf("update set = %v, migrate set = %v; want %v, %v", tg.Update != nil, tg.Migrate != nil, tt.update, tt.migrate)
			}
			if err := j.Validate(); err != nil {
				t.Errorf("validate:\n%v", err)
			}
		})
	}
}

func TestCanonicalizeKeepsExplicitValues(t *testing.T) {
	update := UpdateStrategy{MaxParallel: 3, HealthCheck: "manual", HealthyDeadline: time.Minute}
	j := &Job{
		ID: "j", Name: "named", Priority: 80, Datacenters: []string{"dc1"}, Update: update,
		TaskGroups: []*TaskGroup{{
			Name:          "g",
			RestartPolicy: &RestartPolicy{Attempts: 9, Interval: time.Hour, Mode: RestartModeDelay},
			Tasks: []*Task{{
				Name: "t", Driver: "exec",
				Resources: &Resources{Cores: 2, MemoryMB: 64},
				Artifacts: []*TaskArtifact{{GetterSource: "https://x/y/app.bin", GetterMode: "file"}},
			}},
			Services: []*Service{{Checks: []*ServiceCheck{{Type: "http"}}}},
		}},
	}
	j.Canonicalize()
	tg := j.TaskGroups[0]
	task := tg.Tasks[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"name", j.Name, "named"},
		{"priority", j.Priority, 80},
		{"group update from job", *tg.Update, update},
		{"task restart from group", *task.RestartPolicy, *tg.RestartPolicy},
		{"cpu stays unset with cores", task.Resources.CPU, 0},
		{"artifact destination", task.Artifacts[0].RelativeDest, "local/app.bin"},
		{"service name", tg.Services[0].Name, "named-g"},
		{"service provider", tg.Services[0].Provider, ServiceProviderConsul},
		{"check name", tg.Services[0].Checks[0].Name, `service: "named-g" check`},
		{"check method", tg.Services[0].Checks[0].Method, "GET"},
		{"check on_update", tg.Services[0].Checks[0].OnUpdate, OnUpdateRequireHealthy},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestCanonicalizeIsIdempotent(t *testing.T) {
	j := &Job{ID: "j", TaskGroups: []*TaskGroup{{
		Name:     "g",
		Networks: []*NetworkResource{{DynamicPorts: []Port{{Label: "http"}}}},
		Services: []*Service{{PortLabel: "http", Checks: []*ServiceCheck{{Type: "tcp"}}}},
		Tasks: []*Task{{
			Name: "t", Driver: "exec",
			Templates:    []*Template{{EmbeddedTmpl: "x", DestPath: "local/x", ChangeSignal: "sighup"}},
			VolumeMounts: []*VolumeMount{{Volume: "v"}},
			Lifecycle:    &TaskLifecycleConfig{},
		}},
	}}}
	j.Canonicalize()
	once, _ := json.Marshal(j)
	j.Canonicalize()
	twice, _ := json.Marshal(j)
	if string(once) != string(twice) {
		t.Fatalf("second Canonicalize changed the job:\n%s\n%s", once, twice)
	}
	task := j.TaskGroups[0].Tasks[0]
	if task.Lifecycle != nil || task.Templates[0].ChangeSignal != "SIGHUP" || task.VolumeMounts[0].PropagationMode != "private" {
		t.Errorf("task not canonical: %+v %+v %+v", task.Lifecycle, task.Templates[0], task.VolumeMounts[0])
	}
	if p := j.TaskGroups[0].Networks[0].DynamicPorts[0]; p.HostNetwork != DefaultHostNetwork {
		t.Errorf("host network = %q", p.HostNetwork)
	}
}
