package structs

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/cronexpr"
)

// Child job IDs are the parent's ID with one of these suffixes and a launch
// time, as Nomad names them: `nomad job status` finds a parent's children by
// listing this prefix.
const (
	PeriodicLaunchSuffix = "/periodic-"
	DispatchLaunchSuffix = "/dispatch-"
)

// DispatchPayloadSizeLimit bounds a dispatched job's payload (Nomad's
// limit): the payload is stored in the job, replicated and sent to every
// client that runs it.
const DispatchPayloadSizeLimit = 16 * 1024

// Dispatch bounds: the meta of a dispatch request and the ID prefix it
// chooses end up in the child job's ID and environment.
const (
	MaxDispatchMetaKeys      = 64
	MaxDispatchIDPrefixBytes = 128
	// MaxDispatchMetaValueBytes keeps every NOMAD_META_* well under the
	// kernel's 128 KiB limit on one environment string.
	MaxDispatchMetaValueBytes = 16 << 10
	// MaxDispatchIdempotencyTokenBytes bounds the token stored in every
	// child (clients send a UUID or similar).
	MaxDispatchIdempotencyTokenBytes = 256
)

// PeriodicLaunch records when a periodic job last launched a child, so that
// a new leader resumes its schedule instead of losing or repeating launches.
type PeriodicLaunch struct {
	ID          string
	Namespace   string
	Launch      time.Time
	CreateIndex uint64
	ModifyIndex uint64
}

// Location is the time zone the cron specs are read in (UTC by default).
func (p *PeriodicConfig) Location() (*time.Location, error) {
	if p.TimeZone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("periodic time_zone %q: %w", p.TimeZone, err)
	}
	return loc, nil
}

// specs lists the cron expressions: the older single `cron` first, then
// `crons`.
func (p *PeriodicConfig) specs() []string {
	out := make([]string, 0, len(p.Specs)+1)
	if p.Spec != "" {
		out = append(out, p.Spec)
	}
	return append(out, p.Specs...)
}

// Next returns the earliest launch strictly after from over every spec,
// read in the job's time zone, or the zero time when no spec fires again.
func (p *PeriodicConfig) Next(from time.Time) (next time.Time, err error) {
	loc, err := p.Location()
	if err != nil {
		return time.Time{}, err
	}
	from = from.In(loc)
	// The parser is third-party code; a spec that made it panic must stop
	// this job's schedule, not the leader.
	defer func() {
		if r := recover(); r != nil {
			next, err = time.Time{}, fmt.Errorf("cron spec of job: %v", r)
		}
	}()
	for _, spec := range p.specs() {
		expr, perr := cronexpr.Parse(spec)
		if perr != nil {
			return time.Time{}, fmt.Errorf("cron spec %q: %w", spec, perr)
		}
		n := expr.Next(from)
		if !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return next.Round(0), nil
}

// PeriodicChildID names the child launched at t.
func PeriodicChildID(parentID string, t time.Time) string {
	return fmt.Sprintf("%s%s%d", parentID, PeriodicLaunchSuffix, t.Unix())
}

// DispatchedID names a dispatched child: the launch time and 8 random hex
// digits, after the caller's prefix when one is given.
func DispatchedID(parentID, prefix string, t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	if prefix != "" {
		return fmt.Sprintf("%s%s%s-%d-%s", parentID, DispatchLaunchSuffix, prefix, t.Unix(), hex.EncodeToString(b[:]))
	}
	return fmt.Sprintf("%s%s%d-%s", parentID, DispatchLaunchSuffix, t.Unix(), hex.EncodeToString(b[:]))
}

// derivedChild copies a template job into a child with its own identity:
// the child starts as version 0 with no status of its own.
func (j *Job) derivedChild(id string) *Job {
	c := j.Copy()
	c.ID, c.Name, c.ParentID = id, id, j.ID
	c.Status, c.StatusDescription, c.Stable, c.Stop = "", "", false, false
	c.Version, c.SubmitTime = 0, 0
	c.CreateIndex, c.ModifyIndex, c.JobModifyIndex = 0, 0, 0
	// The token belongs to one dispatch: a child's own launches never claim it.
	c.DispatchIdempotencyToken = ""
	return c
}

// PeriodicChild derives the job a periodic template launches at t. The child
// is not periodic itself: it runs once.
func (j *Job) PeriodicChild(t time.Time) *Job {
	c := j.derivedChild(PeriodicChildID(j.ID, t))
	c.Periodic = nil
	return c
}

// DispatchedChild derives the job a dispatch of a parameterized template
// creates: the payload and the dispatch meta (over the template's meta).
func (j *Job) DispatchedChild(id string, payload []byte, meta map[string]string) *Job {
	c := j.derivedChild(id)
	c.Dispatched = true
	c.Payload = append([]byte(nil), payload...)
	if len(meta) > 0 && c.Meta == nil {
		c.Meta = make(map[string]string, len(meta))
	}
	for k, v := range meta {
		c.Meta[k] = v
	}
	return c
}

// ValidateDispatch checks a dispatch request against the template's
// parameterized block and reports every problem: the payload's presence and
// size, meta keys neither required nor optional, required keys missing, and
// an ID prefix that could not be part of a job ID.
func (pj *ParameterizedJobConfig) ValidateDispatch(payload []byte, meta map[string]string, idPrefix string) error {
	p := newProblems()
	switch {
	case pj.Payload == "required" && len(payload) == 0:
		p.addf("payload is required by the parameterized job but none was given")
	case pj.Payload == "forbidden" && len(payload) > 0:
		p.addf("payload is forbidden by the parameterized job but %d bytes were given", len(payload))
	}
	if len(payload) > DispatchPayloadSizeLimit {
		p.addf("payload is %d bytes; the limit is %d", len(payload), DispatchPayloadSizeLimit)
	}
	if len(meta) > MaxDispatchMetaKeys {
		p.addf("%d meta keys given; the limit is %d", len(meta), MaxDispatchMetaKeys)
	}
	for _, k := range sortedMapKeys(meta) {
		// Meta becomes NOMAD_META_* in the task's environment: a value the
		// kernel would refuse in execve (NUL, or past its per-string limit)
		// would make every start of the child fail.
		switch v := meta[k]; {
		case len(v) > MaxDispatchMetaValueBytes:
			p.addf("meta %q is %d bytes; the limit is %d", k, len(v), MaxDispatchMetaValueBytes)
		case strings.ContainsRune(v, 0):
			p.addf("meta %q contains a NUL byte, which cannot be passed in the environment", k)
		}
	}
	allowed := map[string]bool{}
	for _, k := range pj.MetaRequired {
		allowed[k] = true
	}
	for _, k := range pj.MetaOptional {
		allowed[k] = true
	}
	var extra, missing []string
	for _, k := range sortedMapKeys(meta) {
		if !allowed[k] {
			extra = append(extra, k)
		}
	}
	for _, k := range pj.MetaRequired {
		if _, ok := meta[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(extra) > 0 {
		p.addf("meta keys %s are not permitted (allowed: %s)", quoteList(extra), quoteList(append(append([]string(nil), pj.MetaRequired...), pj.MetaOptional...)))
	}
	if len(missing) > 0 {
		p.addf("required meta keys %s are missing", quoteList(missing))
	}
	switch {
	case len(idPrefix) > MaxDispatchIDPrefixBytes:
		p.addf("id prefix template is %d bytes; the limit is %d", len(idPrefix), MaxDispatchIDPrefixBytes)
	case strings.ContainsAny(idPrefix, " \x00/"):
		p.addf("id prefix template %q may not contain a space, a slash or a null character", idPrefix)
	default:
		// The prefix becomes part of the child's ID: it must pass the
		// check every registered ID passes, or the child could be made
		// but never named in a URL again (stopped, purged).
		if err := CheckPrintable(idPrefix); err != nil {
			p.addf("id prefix template %q: %v", idPrefix, err)
		}
	}
	return p.err()
}

func sortedMapKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	if len(q) == 0 {
		return "(none)"
	}
	return strings.Join(q, ", ")
}
