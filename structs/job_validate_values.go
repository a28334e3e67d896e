package structs

import (
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/cronexpr"
)

// Rules on values wherever they sit in a job, checked by one walk over it so
// that a field added later is covered without a new line here:
//
//   - no duration is negative: no job setting gives a meaning to a time
//     before now, and a negative one turns "wait this long" into "never
//     wait" or a tight loop (disconnect.lost_after, stop_on_client_after…);
//   - identifiers and names (the fields named in identifierFields) and every
//     map key (meta and env keys become environment variable names) hold no
//     control characters: they end up in paths, environment, logs, cgroup
//     names and terminal output, where a newline or an escape sequence
//     forges lines or hides what follows; nor invisible or direction-changing
//     characters (Unicode Cf, Zl, Zp: U+202E RIGHT-TO-LEFT OVERRIDE, U+200B
//     ZERO WIDTH SPACE, U+2028 LINE SEPARATOR…), which make a name read as
//     another one or break lines where a terminal or a browser shows them.

// identifierFields are the string fields, by Go field name, that name or
// identify something (job, group, task, service, volume, check, namespace,
// region, node pool, datacenter, driver, user).
var identifierFields = map[string]bool{
	"ID": true, "ParentID": true, "Name": true, "Namespace": true, "Region": true,
	"NodePool": true, "Datacenters": true, "Driver": true, "User": true, "TaskGroup": true,
}

var durationType = reflect.TypeFor[time.Duration]()

// valueProblems walks v and reports negative durations (the one rule for
// every duration field: the blocks' own checks leave it to this walk) and control
// characters in identifiers and map keys, each with its field path.
func valueProblems(v reflect.Value, path string, ident bool, p problems) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			valueProblems(v.Elem(), path, ident, p)
		}
	case reflect.Int64:
		if v.Type() == durationType && v.Int() < 0 {
			p.addf("%s must not be negative; got %s", path, time.Duration(v.Int()))
		}
	case reflect.String:
		if ident {
			checkIdentifier(p, path, v.String())
		}
	case reflect.Struct:
		t := v.Type()
		for i := range v.NumField() {
			if f := t.Field(i); f.IsExported() {
				valueProblems(v.Field(i), joinPath(path, f.Name), identifierFields[f.Name], p)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // payloads: data, not names
		}
		for i := range v.Len() {
			valueProblems(v.Index(i), fmt.Sprintf("%s[%d]", path, i), ident, p)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key()
			if k.Kind() == reflect.String {
				checkIdentifier(p, path+" key", k.String())
			}
			// Free-form values (driver config: map[string]any) are the
			// driver's to check; their nested keys are not walked.
			valueProblems(iter.Value(), fmt.Sprintf("%s[%q]", path, fmt.Sprint(k.Interface())), false, p)
		}
	}
}

// checkIdentifier reports an identifier that is not valid UTF-8 or holds a
// control, format or separator character; %q shows the offending value
// escaped.
func checkIdentifier(p problems, path, s string) {
	if err := CheckPrintable(s); err != nil {
		p.addf("%s %q: %v", path, s, err)
	}
}

// CheckPrintable refuses a name or ID that is not valid UTF-8, or that holds
// a control character (C0, DEL or C1) or an invisible one: a format
// character (Unicode Cf: bidirectional overrides and isolates, zero-width
// spaces and joiners, the byte order mark, soft hyphen) or a line or
// paragraph separator (Zl, Zp). Letters of any script stay accepted. The
// HTTP API applies it to IDs in URL paths; job validation to every
// identifier and map key of a job.
func CheckPrintable(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("not valid UTF-8")
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Errorf("contains the control character %U", r)
	}
	if i := strings.IndexFunc(s, invisible); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Errorf("contains the invisible or direction-changing character %U", r)
	}
	return nil
}

// invisible reports format characters and line and paragraph separators:
// they print as nothing, reorder what follows (U+202E shows "exe.txt" for
// "txt.exe") or break a line where a log or terminal shows the name.
func invisible(r rune) bool { return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) }

// MaxCronSpecLength bounds a cron spec; real ones are under 100 characters.
const MaxCronSpecLength = 256

// ValidateCronSpec parses a periodic spec the way the periodic launcher
// will, so a spec that could never fire is refused at registration.
func ValidateCronSpec(spec string) (err error) {
	if len(spec) > MaxCronSpecLength {
		return fmt.Errorf("cron spec is %d characters long; the limit is %d", len(spec), MaxCronSpecLength)
	}
	if strings.TrimSpace(spec) == "" {
		return fmt.Errorf("empty cron spec")
	}
	// The parser is third-party code fed with user input: a panic in it
	// must be a refusal, not a crashed server.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid cron spec %q", spec)
		}
	}()
	expr, perr := cronexpr.Parse(spec)
	if perr != nil {
		return fmt.Errorf("invalid cron spec %q: %v", spec, perr)
	}
	// A spec that parses may still name no date to come (February 31st, a
	// past year): the job would be stored and never run.
	if expr.Next(time.Now()).IsZero() {
		return fmt.Errorf("cron spec %q never fires", spec)
	}
	return nil
}

// ValidateEvalPriority checks a priority given to an evaluation by a
// request (eval_priority): 0 means the job's own, anything else must be a
// job priority.
func ValidateEvalPriority(prio int) error {
	if prio != 0 && (prio < MinJobPriority || prio > MaxJobPriority) {
		return fmt.Errorf("evaluation priority %d is out of range; it must be between %d and %d", prio, MinJobPriority, MaxJobPriority)
	}
	return nil
}

// validateSpecs parses every cron spec and the time zone.
func (pc *PeriodicConfig) validateSpecs(p problems) {
	specs := pc.Specs
	if pc.Spec != "" {
		specs = append([]string{pc.Spec}, specs...)
	}
	for _, spec := range specs {
		if err := ValidateCronSpec(spec); err != nil {
			p.addf("%v", err)
		}
	}
	if pc.TimeZone != "" {
		if _, err := time.LoadLocation(pc.TimeZone); err != nil {
			p.addf("time_zone %q: %v", pc.TimeZone, err)
		}
	}
}
