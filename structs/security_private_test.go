package structs

import "testing"

// TestSecurityPrivateAgentOwnedPath: the one rule for job-named paths
// refuses every spelling that reaches a task's private/ folder, relative to
// the allocation directory, and nothing else.
func TestSecurityPrivateAgentOwnedPath(t *testing.T) {
	for _, tc := range []struct {
		rel  string
		want bool
	}{
		{"t/private", true},
		{"t/private/docker-logger/handle.json", true},
		{"t/local/../private/x", true},
		{"other/private/x", true},
		{"t/Private/x", true},
		{"t/./private/x", true},
		{"t/local/private/x", false},
		{"t/privatex", false},
		{"alloc/private/x", false},
		{"t/local/x", false},
		{"t", false},
		{"../t/private", false}, // outside the allocation: refused as an escape
	} {
		if got := AgentOwnedPath(tc.rel); got != tc.want {
			t.Errorf("AgentOwnedPath(%q) = %v, want %v", tc.rel, got, tc.want)
		}
	}
}

// TestSecurityPrivateJobPathsRefused: a template destination or source, an
// artifact destination and the dispatch payload file that name private/
// (the review's spellings among them) are refused at registration, with
// the field; paths beside it still pass.
func TestSecurityPrivateJobPathsRefused(t *testing.T) {
	refused := []struct {
		name string
		edit func(*Task)
		want string
	}{
		{"template private", func(t *Task) {
			t.Templates = []*Template{{EmbeddedTmpl: "x", DestPath: "private/docker-logger/handle.json"}}
		},
			`Template 1: destination "private/docker-logger/handle.json" is in a task's private/ folder`},
		{"template ../t/private", func(t *Task) { t.Templates = []*Template{{EmbeddedTmpl: "x", DestPath: "../t/private/x"}} },
			`destination "../t/private/x" is in a task's private/`},
		{"template local/../private", func(t *Task) { t.Templates = []*Template{{EmbeddedTmpl: "x", DestPath: "local/../private/x"}} },
			`destination "local/../private/x" is in a task's private/`},
		{"template /private", func(t *Task) { t.Templates = []*Template{{EmbeddedTmpl: "x", DestPath: "/private/x"}} },
			`destination "/private/x" is in a task's private/`},
		{"template source", func(t *Task) {
			t.Templates = []*Template{{SourcePath: "private/executor/spec.json", DestPath: "local/x"}}
		}, `Template 1: source "private/executor/spec.json" is in a task's private/`},
		{"template interpolated", func(t *Task) {
			t.Templates = []*Template{{EmbeddedTmpl: "x", DestPath: "${NOMAD_TASK_DIR}/../private/x"}}
		}, `is in a task's private/`},
		{"artifact", func(t *Task) {
			t.Artifacts = []*TaskArtifact{{GetterSource: "https://example.com/x", RelativeDest: "private/executor"}}
		}, `Artifact 1: destination "private/executor" is in a task's private/`},
		{"payload", func(t *Task) { t.DispatchPayload = &DispatchPayloadConfig{File: "../private/x"} },
			`Dispatch payload: file "../private/x" is in a task's private/`},
	}
	for _, tc := range refused {
		j := validJob()
		tc.edit(j.TaskGroups[0].Tasks[0])
		refusedWith(t, tc.name, j, tc.want)
	}
	j := validJob()
	task := j.TaskGroups[0].Tasks[0]
	task.Templates = []*Template{
		{EmbeddedTmpl: "x", DestPath: "local/private/x"},
		{EmbeddedTmpl: "x", DestPath: "../alloc/private/x"},
		{SourcePath: "local/tpl", DestPath: "secrets/x"},
	}
	task.DispatchPayload = &DispatchPayloadConfig{File: "private"}
	if got := validationProblems(t, j); got != nil {
		t.Errorf("paths beside private/ refused: %q", got)
	}
}
