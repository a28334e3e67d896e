package structs

import (
	"strings"
	"testing"
)

// TestWarningHostNetwork: a task that is isolated otherwise but shares the
// node's network namespace is pointed out to the submitter; one in a
// namespace of its own, on Docker's bridge or under raw_exec is not.
func TestWarningHostNetwork(t *testing.T) {
	group := func(mode NetworkMode, driver string, config map[string]any) *Job {
		tg := &TaskGroup{Name: "g", Tasks: []*Task{{Name: "t", Driver: driver, Config: config}}}
		if mode != "" {
			tg.Networks = []*NetworkResource{{Mode: mode}}
		}
		return &Job{ID: "w", Type: JobTypeService, TaskGroups: []*TaskGroup{tg}}
	}
	cases := []struct {
		name string
		job  *Job
		warn bool
	}{
		{"exec, no network block", group("", "exec", nil), true},
		{"exec, host mode", group(NetworkModeHost, "exec", nil), true},
		{"java, no network block", group("", "java", nil), true},
		{"docker network_mode host", group("", "docker", map[string]any{"network_mode": "host"}), true},
		{"exec, bridge", group(NetworkModeBridge, "exec", nil), false},
		{"exec, none", group(NetworkModeNone, "exec", nil), false},
		{"exec, cni", group("cni/mynet", "exec", nil), false},
		{"docker on docker's bridge", group("", "docker", map[string]any{"image": "x"}), false},
		{"raw_exec", group("", "raw_exec", nil), false},
	}
	for _, c := range cases {
		got := strings.Join(c.job.Warnings(), "\n")
		want := `Task group "g": Task "t": shares the node's network namespace`
		if has := strings.Contains(got, want); has != c.warn {
			t.Errorf("%s: warnings %q, want the host network warning: %v", c.name, got, c.warn)
		}
	}
}
