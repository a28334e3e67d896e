package structs

import (
	"strings"
	"testing"
	"time"
)

// validationProblems validates j and returns its problems (nil when valid).
func validationProblems(t *testing.T, j *Job) []string {
	t.Helper()
	err := j.Validate()
	if err == nil {
		return nil
	}
	ve, ok := err.(*ValidationError)
	if !ok {
		t.Fatalf("Validate returned %T %v, want *ValidationError", err, err)
	}
	return ve.Problems
}

// refusedWith fails unless j is refused with a problem containing each want.
func refusedWith(t *testing.T, name string, j *Job, want ...string) {
	t.Helper()
	got := validationProblems(t, j)
	for _, w := range want {
		found := false
		for _, p := range got {
			found = found || strings.Contains(p, w)
		}
		if !found {
			t.Errorf("%s: problems %q, want one containing %q", name, got, w)
		}
	}
}

func periodicJob(mod func(*PeriodicConfig)) *Job {
	j := validJob()
	j.Type = JobTypeBatch
	j.TaskGroups[0].Update, j.TaskGroups[0].Migrate = nil, nil
	j.TaskGroups[0].ReschedulePolicy = nil
	j.Periodic = &PeriodicConfig{Enabled: true, SpecType: "cron", Spec: "*/5 * * * *"}
	mod(j.Periodic)
	j.Canonicalize()
	return j
}

// TestSecurityValidationCron: cron specs are parsed at registration; one
// that the periodic launcher could never run is refused, with the spec.
func TestSecurityValidationCron(t *testing.T) {
	if got := validationProblems(t, periodicJob(func(*PeriodicConfig) {})); got != nil {
		t.Fatalf("valid periodic job refused: %q", got)
	}
	ok := periodicJob(func(p *PeriodicConfig) {
		p.Spec, p.Specs, p.TimeZone = "", []string{"@daily", "0 0 12 * * MON-FRI *"}, "Europe/Paris"
	})
	if got := validationProblems(t, ok); got != nil {
		t.Fatalf("valid crons refused: %q", got)
	}
	for name, mod := range map[string]func(*PeriodicConfig){
		"garbage":        func(p *PeriodicConfig) { p.Spec = "every tuesday" },
		"out of range":   func(p *PeriodicConfig) { p.Spec = "61 * * * *" },
		"bad in crons":   func(p *PeriodicConfig) { p.Specs = []string{"@daily", "*/0 * * * *"} },
		"never fires":    func(p *PeriodicConfig) { p.Spec = "0 0 31 2 *" },
		"past year":      func(p *PeriodicConfig) { p.Spec = "0 0 1 1 * 2020" },
		"empty in crons": func(p *PeriodicConfig) { p.Spec, p.Specs = "", []string{" "} },
		"huge":           func(p *PeriodicConfig) { p.Spec = strings.Repeat("1,", 1000) + "1 * * * *" },
		"control":        func(p *PeriodicConfig) { p.Spec = "* * * * *\n@daily" },
	} {
		refusedWith(t, name, periodicJob(mod), "Periodic: ")
	}
	refusedWith(t, "time zone", periodicJob(func(p *PeriodicConfig) { p.TimeZone = "Mars/Olympus" }), `time_zone "Mars/Olympus"`)
	refusedWith(t, "time zone path", periodicJob(func(p *PeriodicConfig) { p.TimeZone = "../../../etc/passwd" }), "time_zone")
}

// TestSecurityValidationNegativeDurations: no duration of a job may be
// negative, the disconnect settings old and new included, wherever it sits.
func TestSecurityValidationNegativeDurations(t *testing.T) {
	neg := -time.Minute
	for name, c := range map[string]struct {
		mod  func(j *Job)
		want string
	}{
		"lost_after":                   {func(j *Job) { j.TaskGroups[0].Disconnect = &DisconnectStrategy{LostAfter: neg} }, "Disconnect.LostAfter must not be negative"},
		"stop_on_client_after":         {func(j *Job) { j.TaskGroups[0].Disconnect = &DisconnectStrategy{StopOnClientAfter: &neg} }, "Disconnect.StopOnClientAfter must not be negative"},
		"max_client_disconnect":        {func(j *Job) { j.TaskGroups[0].MaxClientDisconnect = &neg }, "MaxClientDisconnect must not be negative"},
		"stop_after_client_disconnect": {func(j *Job) { j.TaskGroups[0].StopAfterClientDisconnect = &neg }, "StopAfterClientDisconnect must not be negative"},
		"kill_timeout":                 {func(j *Job) { j.TaskGroups[0].Tasks[0].KillTimeout = neg }, "KillTimeout must not be negative"},
		"check interval":               {func(j *Job) { j.TaskGroups[0].Services[0].Checks[0].Interval = neg }, "Checks[0].Interval must not be negative"},
	} {
		j := validJob()
		c.mod(j)
		refusedWith(t, name, j, c.want)
		// A check interval also has a minimum, reported on its own.
		if got := validationProblems(t, j); len(got) != 1 && name != "check interval" {
			t.Errorf("%s: one negative duration, %d problems: %q", name, len(got), got)
		}
	}
}

// TestSecurityValidationControlCharacters: IDs, names, namespaces, regions
// and map keys (meta and env keys become environment variables) holding a
// control character or invalid UTF-8 are refused, with the field path.
func TestSecurityValidationControlCharacters(t *testing.T) {
	for name, c := range map[string]struct {
		mod  func(j *Job)
		want string
	}{
		"job id newline":  {func(j *Job) { j.ID = "web\nINFO forged" }, `ID "web\nINFO forged": contains the control character U+000A`},
		"job id escape":   {func(j *Job) { j.ID = "web\x1b[2J" }, "U+001B"},
		"job id nul":      {func(j *Job) { j.ID = "web\x00" }, "U+0000"},
		"job id c1":       {func(j *Job) { j.ID = "web\u0085" }, "U+0085"},
		"job id del":      {func(j *Job) { j.ID = "web\x7f" }, "U+007F"},
		"job id not utf8": {func(j *Job) { j.ID = "web\xff" }, "not valid UTF-8"},
		"job name":        {func(j *Job) { j.Name = "a\rb" }, "Name "},
		"namespace":       {func(j *Job) { j.Namespace = "default\n" }, "Namespace "},
		"region":          {func(j *Job) { j.Region = "glo\tbal" }, "Region "},
		"datacenter":      {func(j *Job) { j.Datacenters = []string{"dc\n1"} }, "Datacenters[0] "},
		"group name":      {func(j *Job) { j.TaskGroups[0].Name = "we\nb" }, "TaskGroups[0].Name "},
		"task name":       {func(j *Job) { j.TaskGroups[0].Tasks[0].Name = "a\x07" }, "TaskGroups[0].Tasks[0].Name "},
		"task user":       {func(j *Job) { j.TaskGroups[0].Tasks[0].User = "root\n" }, "Tasks[0].User "},
		"service name":    {func(j *Job) { j.TaskGroups[0].Services[0].Name = "w\neb" }, "Services[0].Name "},
		"job meta key":    {func(j *Job) { j.Meta = map[string]string{"A\nB": "x"} }, "Meta key "},
		"task env key":    {func(j *Job) { j.TaskGroups[0].Tasks[0].Env = map[string]string{"PATH\x00X": "x"} }, "Tasks[0].Env key "},
		"task meta key":   {func(j *Job) { j.TaskGroups[0].Tasks[0].Meta = map[string]string{"k\x1b": "v"} }, "Tasks[0].Meta key "},
		// Invisible and direction-changing characters (Cf, Zl, Zp).
		"job id rlo":       {func(j *Job) { j.ID = "web\u202Etxt.exe" }, `invisible or direction-changing character U+202E`},
		"job id zwsp":      {func(j *Job) { j.ID = "we\u200Bb" }, "U+200B"},
		"job name lsep":    {func(j *Job) { j.Name = "web\u2028forged" }, "U+2028"},
		"namespace psep":   {func(j *Job) { j.Namespace = "default\u2029" }, "Namespace "},
		"region bom":       {func(j *Job) { j.Region = "\uFEFFglobal" }, "U+FEFF"},
		"group lri":        {func(j *Job) { j.TaskGroups[0].Name = "a\u2066b" }, "TaskGroups[0].Name "},
		"task zwj":         {func(j *Job) { j.TaskGroups[0].Tasks[0].Name = "t\u200Dx" }, "U+200D"},
		"task soft hyphen": {func(j *Job) { j.TaskGroups[0].Tasks[0].Name = "t\u00ADx" }, "U+00AD"},
		"env key tag char": {func(j *Job) { j.TaskGroups[0].Tasks[0].Env = map[string]string{"A\U000E0041": "x"} }, "Env key "},
		"meta key rlm":     {func(j *Job) { j.Meta = map[string]string{"k\u200F": "v"} }, "Meta key "},
	} {
		j := validJob()
		c.mod(j)
		refusedWith(t, name, j, c.want)
	}
	// Values that are data, not names, may hold newlines: a template's body,
	// an env value, a meta value.
	j := validJob()
	j.Meta = map[string]string{"motd": "line one\nline two"}
	j.TaskGroups[0].Tasks[0].Env = map[string]string{"CERT": "-----BEGIN-----\nabc\n-----END-----\n"}
	j.TaskGroups[0].Tasks[0].Templates[0].EmbeddedTmpl = "a\n\tb\n"
	if got := validationProblems(t, j); got != nil {
		t.Fatalf("data with newlines refused: %q", got)
	}
	// Letters of any script are names like any other.
	j = validJob()
	j.ID, j.Name = "café-日本", "Ünïcödé"
	j.TaskGroups[0].Name = "группа"
	j.Meta = map[string]string{"clé": "valeur\u200B"} // an invisible in a value is data
	if got := validationProblems(t, j); got != nil {
		t.Fatalf("non-ASCII letters refused: %q", got)
	}
}

// TestSecurityValidationEvalPriority: an eval priority is 0 (the job's) or
// a job priority.
func TestSecurityValidationEvalPriority(t *testing.T) {
	for _, ok := range []int{0, 1, 50, 100} {
		if err := ValidateEvalPriority(ok); err != nil {
			t.Errorf("%d refused: %v", ok, err)
		}
	}
	for _, bad := range []int{-1, 101, 1 << 40, -1 << 62} {
		if err := ValidateEvalPriority(bad); err == nil {
			t.Errorf("%d accepted", bad)
		}
	}
}
