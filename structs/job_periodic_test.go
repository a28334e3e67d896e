package structs

import (
	"strings"
	"testing"
	"time"
)

// Periodic and parameterized jobs run now: registering one warns about
// nothing.
func TestPeriodicAndParameterizedAreNotWarnedAbout(t *testing.T) {
	for name, mod := range map[string]func(*Job){
		"periodic":      func(j *Job) { j.Periodic = &PeriodicConfig{Enabled: true, Spec: "* * * * *"} },
		"parameterized": func(j *Job) { j.ParameterizedJob = &ParameterizedJobConfig{Payload: "optional"} },
	} {
		j := &Job{ID: "w", Type: JobTypeBatch, TaskGroups: []*TaskGroup{{Name: "g", Tasks: []*Task{{Name: "t"}}}}}
		mod(j)
		if w := j.Warnings(); len(w) != 0 {
			t.Errorf("%s: warnings %q, want none", name, w)
		}
	}
}

func TestPeriodicNext(t *testing.T) {
	from := time.Date(2026, 3, 1, 10, 0, 30, 0, time.UTC)
	cases := []struct {
		name string
		cfg  PeriodicConfig
		want time.Time
	}{
		{"cron", PeriodicConfig{Spec: "*/15 * * * *"}, time.Date(2026, 3, 1, 10, 15, 0, 0, time.UTC)},
		{"earliest of crons", PeriodicConfig{Specs: []string{"0 12 * * *", "30 10 * * *"}}, time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)},
		{"cron and crons", PeriodicConfig{Spec: "0 11 * * *", Specs: []string{"0 12 * * *"}}, time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)},
		{"seconds", PeriodicConfig{Spec: "*/1 * * * * * *"}, time.Date(2026, 3, 1, 10, 0, 31, 0, time.UTC)},
		// 11:00 in New York (UTC-5 in March before DST) is 16:00 UTC.
		{"time zone", PeriodicConfig{Spec: "0 11 * * *", TimeZone: "America/New_York"}, time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		got, err := c.cfg.Next(from)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !got.Equal(c.want) {
			t.Errorf("%s: next %s, want %s", c.name, got.UTC(), c.want)
		}
	}
	if _, err := (&PeriodicConfig{Spec: "* * * * *", TimeZone: "Nowhere/Else"}).Next(from); err == nil {
		t.Error("unknown time zone: no error")
	}
}

func TestValidateDispatch(t *testing.T) {
	pj := &ParameterizedJobConfig{Payload: "required", MetaRequired: []string{"input"}, MetaOptional: []string{"mode"}}
	cases := []struct {
		name    string
		cfg     *ParameterizedJobConfig
		payload []byte
		meta    map[string]string
		prefix  string
		want    []string
	}{
		{"ok", pj, []byte("x"), map[string]string{"input": "a", "mode": "b"}, "", nil},
		{"missing payload", pj, nil, map[string]string{"input": "a"}, "", []string{"payload is required"}},
		{"forbidden payload", &ParameterizedJobConfig{Payload: "forbidden"}, []byte("x"), nil, "", []string{"payload is forbidden"}},
		{"too big", &ParameterizedJobConfig{Payload: "optional"}, make([]byte, DispatchPayloadSizeLimit+1), nil, "", []string{"the limit is 16384"}},
		{"bad meta", pj, []byte("x"), map[string]string{"other": "1"}, "", []string{`meta keys "other" are not permitted`, `required meta keys "input" are missing`}},
		{"meta value too big", pj, []byte("x"), map[string]string{"input": strings.Repeat("a", MaxDispatchMetaValueBytes+1)}, "", []string{`meta "input" is 16385 bytes`}},
		{"meta value with NUL", pj, []byte("x"), map[string]string{"input": "a\x00b"}, "", []string{`meta "input" contains a NUL`}},
		{"bad prefix", &ParameterizedJobConfig{Payload: "optional"}, nil, nil, "a/b", []string{"may not contain"}},
		// A child whose ID holds a separator or control character could
		// be made but never stopped: its ID is refused in every URL.
		{"line separator in prefix", &ParameterizedJobConfig{Payload: "optional"}, nil, nil, "x\u2028y", []string{"invisible"}},
		{"newline in prefix", &ParameterizedJobConfig{Payload: "optional"}, nil, nil, "x\ny", []string{"control character"}},
		{"escape in prefix", &ParameterizedJobConfig{Payload: "optional"}, nil, nil, "\x1b[2J", []string{"control character"}},
	}
	for _, c := range cases {
		err := c.cfg.ValidateDispatch(c.payload, c.meta, c.prefix)
		if len(c.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error, want %q", c.name, c.want)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q, want it to contain %q", c.name, err, w)
			}
		}
	}
}

func TestChildJobs(t *testing.T) {
	parent := &Job{ID: "report", Name: "report", Type: JobTypeBatch, Version: 3, Status: JobStatusRunning,
		Periodic: &PeriodicConfig{Enabled: true, Spec: "* * * * *"}, Meta: map[string]string{"a": "1"},
		ParameterizedJob: &ParameterizedJobConfig{Payload: "optional"}}
	at := time.Unix(1700000000, 0)
	p := parent.PeriodicChild(at)
	if p.ID != "report/periodic-1700000000" || p.ParentID != "report" || p.Periodic != nil || p.Version != 0 || p.Status != "" {
		t.Errorf("periodic child %+v", p)
	}
	d := parent.DispatchedChild(DispatchedID("report", "", at), []byte("in"), map[string]string{"b": "2"})
	if !strings.HasPrefix(d.ID, "report/dispatch-1700000000-") || len(d.ID) != len("report/dispatch-1700000000-")+8 {
		t.Errorf("dispatched ID %q", d.ID)
	}
	if !d.Dispatched || d.IsParameterized() || string(d.Payload) != "in" || d.Meta["a"] != "1" || d.Meta["b"] != "2" {
		t.Errorf("dispatched child %+v", d)
	}
	if parent.Meta["b"] != "" {
		t.Error("dispatch meta leaked into the parent")
	}
	if id := DispatchedID("report", "nightly", at); !strings.HasPrefix(id, "report/dispatch-nightly-1700000000-") {
		t.Errorf("dispatched ID with prefix %q", id)
	}
}
