package structs

import (
	"strings"
	"testing"
)

// Blocks roam accepts but does not act on yet are warned about, naming
// what does not happen; a job without them gets no such warning.
func TestWarningsForBlocksNotActedOn(t *testing.T) {
	base := func() *Job {
		return &Job{ID: "w", Type: JobTypeService, TaskGroups: []*TaskGroup{{Name: "g", Tasks: []*Task{{Name: "t"}}}}}
	}
	cases := []struct {
		name string
		mod  func(*Job)
		want string
	}{
		{"periodic", func(j *Job) { j.Type = JobTypeBatch; j.Periodic = &PeriodicConfig{Enabled: true} }, "periodic jobs are not launched"},
		{"parameterized", func(j *Job) { j.Type = JobTypeBatch; j.ParameterizedJob = &ParameterizedJobConfig{} }, "cannot be dispatched"},
		{"canary", func(j *Job) { j.TaskGroups[0].Update = &UpdateStrategy{MaxParallel: 1, Canary: 1} }, "canary is not acted on"},
		{"auto_revert", func(j *Job) { j.TaskGroups[0].Update = &UpdateStrategy{MaxParallel: 1, AutoRevert: true} }, "auto_revert is not acted on"},
		{"group connect", func(j *Job) {
			j.TaskGroups[0].Services = []*Service{{Name: "api", Connect: &ConsulConnect{SidecarService: &ConsulSidecarService{}}}}
		}, `Service "api": Connect: the service mesh is not built`},
		{"task connect native", func(j *Job) {
			j.TaskGroups[0].Tasks[0].Services = []*Service{{Name: "api", Connect: &ConsulConnect{Native: true}}}
		}, `Task "t": Service "api": Connect: the service mesh is not built`},
	}
	for _, c := range cases {
		j := base()
		c.mod(j)
		got := strings.Join(j.Warnings(), "\n")
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: warnings %q, want one containing %q", c.name, got, c.want)
		}
	}
	plain := base()
	plain.TaskGroups[0].Update = &UpdateStrategy{MaxParallel: 1}
	if w := plain.Warnings(); len(w) != 0 {
		t.Errorf("a plain job with a rolling update block: warnings %q, want none", w)
	}
}
