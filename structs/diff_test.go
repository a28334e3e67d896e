package structs

import (
	"testing"
	"time"
)

func diffTestJob() *Job {
	return &Job{
		ID: "web", Name: "web", Namespace: "default", Type: JobTypeService, Priority: 50,
		Datacenters: []string{"dc1"}, Meta: map[string]string{"owner": "a"},
		Constraints: []*Constraint{{LTarget: "${attr.kernel.name}", RTarget: "linux", Operand: "="}},
		TaskGroups: []*TaskGroup{{
			Name: "web", Count: 1,
			Tasks: []*Task{{Name: "app", Driver: "exec", Config: map[string]any{"command": "/bin/app", "args": []any{"-v"}},
				Resources: &Resources{CPU: 100, MemoryMB: 128}, KillTimeout: 5 * time.Second}},
		}},
		Version: 3, JobModifyIndex: 10,
	}
}

func findField(fs []*FieldDiff, name string) *FieldDiff {
	for _, f := range fs {
		if f.Name == name {
			return f
		}
	}
	return nil
}

func findObject(os []*ObjectDiff, name string) *ObjectDiff {
	for _, o := range os {
		if o.Name == name {
			return o
		}
	}
	return nil
}

func TestDiffJobsUnchangedIgnoresServerFields(t *testing.T) {
	a, b := diffTestJob(), diffTestJob()
	b.Version, b.JobModifyIndex, b.Status, b.SubmitTime = 4, 20, JobStatusRunning, 99
	d := DiffJobs(a, b)
	if d.Type != DiffTypeNone || len(d.Fields) != 0 || len(d.Objects) != 0 {
		t.Fatalf("diff of equal specs: %+v", d)
	}
	if len(d.TaskGroups) != 1 || d.TaskGroups[0].Type != DiffTypeNone {
		t.Fatalf("unchanged groups must be listed with type None: %+v", d.TaskGroups)
	}
}

func TestDiffJobsEdits(t *testing.T) {
	a, b := diffTestJob(), diffTestJob()
	b.Priority = 70
	b.Meta["owner"], b.Meta["team"] = "b", "x"
	b.Datacenters = []string{"dc1", "dc2"}
	b.Constraints = nil
	b.TaskGroups[0].Count = 3
	b.TaskGroups[0].Tasks[0].Config["command"] = "/bin/other"
	b.TaskGroups[0].Tasks[0].Resources.MemoryMB = 256
	b.TaskGroups = append(b.TaskGroups, &TaskGroup{Name: "cache", Count: 1, Tasks: []*Task{{Name: "redis", Driver: "docker"}}})

	d := DiffJobs(a, b)
	if d.Type != DiffTypeEdited || d.ID != "web" {
		t.Fatalf("type %s id %s", d.Type, d.ID)
	}
	if f := findField(d.Fields, "Priority"); f == nil || f.Old != "50" || f.New != "70" || f.Type != DiffTypeEdited {
		t.Fatalf("priority: %+v", f)
	}
	if f := findField(d.Fields, "Meta[team]"); f == nil || f.Type != DiffTypeAdded || f.New != "x" {
		t.Fatalf("meta: %+v", d.Fields)
	}
	if o := findObject(d.Objects, "Datacenters"); o == nil || len(o.Fields) != 1 || o.Fields[0].New != "dc2" {
		t.Fatalf("datacenters: %+v", o)
	}
	if o := findObject(d.Objects, "Constraint"); o == nil || o.Type != DiffTypeDeleted {
		t.Fatalf("constraint: %+v", d.Objects)
	}
	if len(d.TaskGroups) != 2 || d.TaskGroups[0].Name != "cache" || d.TaskGroups[0].Type != DiffTypeAdded {
		t.Fatalf("groups: %+v", d.TaskGroups)
	}
	web := d.TaskGroups[1]
	if f := findField(web.Fields, "Count"); web.Type != DiffTypeEdited || f == nil || f.New != "3" {
		t.Fatalf("web group: %+v", web)
	}
	task := web.Tasks[0]
	if cfg := findObject(task.Objects, "Config"); cfg == nil || findField(cfg.Fields, "command").New != "/bin/other" {
		t.Fatalf("task config: %+v", task.Objects)
	}
	if res := findObject(task.Objects, "Resources"); res == nil || findField(res.Fields, "MemoryMB").New != "256" {
		t.Fatalf("task resources: %+v", task.Objects)
	}

	d.Annotate(&PlanAnnotations{DesiredTGUpdates: map[string]*DesiredUpdates{"web": {Place: 2, Ignore: 1, DestructiveUpdate: 1}}})
	if web.Updates[UpdateTypeCreate] != 2 || web.Updates[UpdateTypeIgnore] != 1 || len(web.Updates) != 3 {
		t.Fatalf("updates: %v", web.Updates)
	}
	// What `job plan` prints beside the changes, as Nomad's does.
	if a := findField(web.Fields, "Count").Annotations; len(a) != 1 || a[0] != AnnotationForcesCreate {
		t.Errorf("count annotations %v, want forces create", a)
	}
	if len(task.Annotations) != 1 || task.Annotations[0] != AnnotationForcesDestructiveUpdate {
		t.Errorf("task annotations %v, want forces create/destroy update", task.Annotations)
	}
}

func TestDiffAnnotationsInPlaceAndAddedTask(t *testing.T) {
	old, new := diffTestJob(), diffTestJob()
	tg := new.TaskGroups[len(new.TaskGroups)-1]
	tg.Tasks[0].Meta = map[string]string{"k": "v"}
	extra := *tg.Tasks[0]
	extra.Name = "extra"
	tg.Tasks = append(tg.Tasks, &extra)
	d := DiffJobs(old, new)
	d.Annotate(&PlanAnnotations{DesiredTGUpdates: map[string]*DesiredUpdates{tg.Name: {InPlaceUpdate: 1}}})
	got := map[string][]string{}
	for _, g := range d.TaskGroups {
		for _, td := range g.Tasks {
			got[td.Name] = td.Annotations
		}
	}
	if a := got[tg.Tasks[0].Name]; len(a) != 1 || a[0] != AnnotationForcesInplaceUpdate {
		t.Errorf("edited task %v, want forces in-place update", a)
	}
	if a := got["extra"]; len(a) != 1 || a[0] != AnnotationForcesCreate {
		t.Errorf("added task %v, want forces create", a)
	}
}

func TestDiffJobsAddedAndDeleted(t *testing.T) {
	if d := DiffJobs(nil, diffTestJob()); d.Type != DiffTypeAdded || d.TaskGroups[0].Type != DiffTypeAdded || findField(d.Fields, "Priority") == nil {
		t.Fatalf("added: %+v", d)
	}
	if d := DiffJobs(diffTestJob(), nil); d.Type != DiffTypeDeleted || d.TaskGroups[0].Type != DiffTypeDeleted {
		t.Fatalf("deleted: %+v", d)
	}
	if d := DiffJobs(nil, nil); d.Type != DiffTypeNone {
		t.Fatalf("nil/nil: %+v", d)
	}
}
