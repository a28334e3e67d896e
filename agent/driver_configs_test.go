package agent

import (
	"strings"
	"testing"

	nomadapi "github.com/hashicorp/nomad/api"
)

// TestJobValidateChecksDriverConfigs: `nomad job validate` against roam
// reports the task driver configs as validated (no "Driver configuration
// not validated" line) when roam knows every driver, lists what a driver
// would refuse at start, and registration refuses the same config.
func TestJobValidateChecksDriverConfigs(t *testing.T) {
	a := testAgent(t, nil)
	nc := nomadAgentClient(t, a)
	job := func(driver string, config map[string]any) *nomadapi.Job {
		j := nomadapi.NewServiceJob("dcv", "dcv", "global", 50)
		j.Datacenters = []string{"*"}
		task := nomadapi.NewTask("t", driver)
		task.Config = config
		return j.AddTaskGroup(nomadapi.NewTaskGroup("g", 1).AddTask(task))
	}
	cases := []struct {
		name      string
		job       *nomadapi.Job
		validated bool
		errs      []string
	}{
		{"raw_exec ok", job("raw_exec", map[string]any{"command": "/bin/true", "args": []string{"x"}}), true, nil},
		{"docker ok, interpolated dns", job("docker", map[string]any{"image": "redis:7", "dns_servers": []string{"${attr.unique.network.ip-address}"}}), true, nil},
		{"misspelled key", job("raw_exec", map[string]any{"comand": "/bin/true"}), true, []string{
			`Task group "g": Task "t": raw_exec config: command: missing required key`,
			`Task group "g": Task "t": raw_exec config: comand: unknown key`}},
		{"wrong type", job("exec", map[string]any{"command": "app", "args": "not-a-list"}), true, []string{
			`Task group "g": Task "t": exec config: args: want list`}},
		{"java without jar or class", job("java", map[string]any{"jvm_options": []string{"-Xmx64m"}}), true, []string{
			`Task group "g": Task "t": java config: jar_path or class must be set`}},
		{"docker without image", job("docker", map[string]any{"image": " "}), true, []string{
			`Task group "g": Task "t": docker config: image: must not be empty`}},
		{"a driver roam does not know", job("podman", map[string]any{"image": "x"}), false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, _, err := nc.Jobs().Validate(c.job, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.DriverConfigValidated != c.validated {
				t.Errorf("DriverConfigValidated = %v, want %v", resp.DriverConfigValidated, c.validated)
			}
			if len(resp.ValidationErrors) != len(c.errs) {
				t.Fatalf("errors %q, want %q", resp.ValidationErrors, c.errs)
			}
			for i, want := range c.errs {
				if !strings.HasPrefix(resp.ValidationErrors[i], want) {
					t.Errorf("error %d = %q, want it to start with %q", i, resp.ValidationErrors[i], want)
				}
			}
		})
	}
	if _, _, err := nc.Jobs().Register(job("raw_exec", map[string]any{"comand": "/bin/true"}), nil); err == nil ||
		!strings.Contains(err.Error(), "comand: unknown key") {
		t.Errorf("register with a misspelled key: %v", err)
	}
}
