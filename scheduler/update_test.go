package scheduler

import (
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

func updateJob() *structs.Job {
	return &structs.Job{
		ID: "j", Version: 1, JobModifyIndex: 10, Meta: map[string]string{"team": "a"},
		TaskGroups: []*structs.TaskGroup{{
			Name: "g", Count: 2, Meta: map[string]string{"tier": "web"},
			Networks: []*structs.NetworkResource{{Mode: structs.NetworkModeHost, DynamicPorts: []structs.Port{{Label: "http"}}}},
			Services: []*structs.Service{{Name: "web", PortLabel: "http", Tags: []string{"v1"}}},
			Tasks: []*structs.Task{{
				Name: "t", Driver: "exec", Config: map[string]any{"command": "/bin/app"},
				Env: map[string]string{"A": "1"}, Resources: &structs.Resources{CPU: 100, MemoryMB: 128},
				Templates: []*structs.Template{{DestPath: "local/x", EmbeddedTmpl: "x"}},
			}},
		}},
	}
}

func TestDestructiveChange(t *testing.T) {
	cases := []struct {
		name        string
		modify      func(*structs.Job)
		destructive bool
	}{
		{"count", func(j *structs.Job) { j.TaskGroups[0].Count = 5 }, false},
		{"restart policy", func(j *structs.Job) { j.TaskGroups[0].RestartPolicy = &structs.RestartPolicy{Attempts: 9} }, false},
		{"reschedule policy", func(j *structs.Job) { j.TaskGroups[0].ReschedulePolicy = &structs.ReschedulePolicy{Attempts: 9} }, false},
		{"constraints", func(j *structs.Job) {
			j.TaskGroups[0].Constraints = []*structs.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "linux", Operand: "="}}
		}, false},
		{"service tags", func(j *structs.Job) { j.TaskGroups[0].Services[0].Tags = []string{"v2"} }, false},
		{"kill timeout", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].KillTimeout = time.Minute }, false},
		{"update strategy", func(j *structs.Job) { j.Update.MaxParallel = 3 }, false},
		{"driver", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Driver = "docker" }, true},
		{"config", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Config["command"] = "/bin/other" }, true},
		{"env", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Env["A"] = "2" }, true},
		{"cpu", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Resources.CPU = 200 }, true},
		{"memory_max", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Resources.MemoryMaxMB = 512 }, true},
		{"template", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Templates[0].EmbeddedTmpl = "y" }, true},
		{"artifact", func(j *structs.Job) {
			j.TaskGroups[0].Tasks[0].Artifacts = []*structs.TaskArtifact{{GetterSource: "https://x"}}
		}, true},
		{"port", func(j *structs.Job) { j.TaskGroups[0].Networks[0].DynamicPorts[0].To = 8080 }, true},
		{"network mode", func(j *structs.Job) { j.TaskGroups[0].Networks[0].Mode = structs.NetworkModeBridge }, true},
		{"service port", func(j *structs.Job) { j.TaskGroups[0].Services[0].PortLabel = "admin" }, true},
		{"volume", func(j *structs.Job) {
			j.TaskGroups[0].Volumes = map[string]*structs.VolumeRequest{"v": {Type: "host", Source: "data"}}
		}, true},
		{"ephemeral disk", func(j *structs.Job) { j.TaskGroups[0].EphemeralDisk = &structs.EphemeralDisk{SizeMB: 1000} }, true},
		{"job meta", func(j *structs.Job) { j.Meta["team"] = "b" }, true},
		{"group meta", func(j *structs.Job) { j.TaskGroups[0].Meta["tier"] = "api" }, true},
		{"affinity", func(j *structs.Job) {
			j.Affinities = []*structs.Affinity{{LTarget: "${meta.rack}", RTarget: "r1", Operand: "=", Weight: 50}}
		}, true},
		{"new task", func(j *structs.Job) {
			j.TaskGroups[0].Tasks = append(j.TaskGroups[0].Tasks, &structs.Task{Name: "side", Driver: "exec"})
		}, true},
	}
	for _, c := range cases {
		old, updated := updateJob(), updateJob()
		c.modify(updated)
		updated.Version, updated.JobModifyIndex = 2, 20
		if got := destructiveChange(old, updated, "g"); got != c.destructive {
			t.Errorf("%s: destructive = %v, want %v", c.name, got, c.destructive)
		}
	}
	if !sameJobVersion(updateJob(), updateJob()) {
		t.Error("equal versions differ")
	}
	if destructiveChange(updateJob(), updateJob(), "missing") != true {
		t.Error("a missing group must be destructive")
	}
}
