package structs

import (
	"strings"
	"testing"
)

func TestNullEntriesAreRefusedNotCrashedOn(t *testing.T) {
	j := &Job{ID: "a", Type: JobTypeService, TaskGroups: []*TaskGroup{{
		Name: "g", Count: 1,
		Volumes:     map[string]*VolumeRequest{"a": nil},
		Constraints: []*Constraint{nil},
		Tasks:       []*Task{{Name: "t", Driver: "raw_exec", Config: map[string]any{"command": nil}}, nil},
	}}}
	j.Canonicalize()
	err := j.Validate()
	if err == nil {
		t.Fatal("want an error for null entries")
	}
	for _, want := range []string{`TaskGroups[0].Volumes["a"] is null`, "TaskGroups[0].Constraints[0] is null", "TaskGroups[0].Tasks[1] is null"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "command") {
		t.Error("null values inside driver config are the driver's business")
	}
}
