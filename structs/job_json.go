package structs

import (
	"bytes"
	"encoding/json"
	"time"
)

// A job sent as JSON (by Nomad's CLI, Nomad's Go API or any HTTP client)
// leaves out, or sends as null, every field its author did not set. Nomad's
// agent fills those from defaults before anything else reads the job, and
// for some fields the default is not the zero value: a group without Count
// runs one allocation, a periodic block without Enabled is enabled. roam's
// types hold plain values, so by the time Canonicalize runs an absent count
// and "count = 0" look alike. Job.UnmarshalJSON therefore decodes the job a
// second time into a presence tree (pointers and raw messages for just those
// fields) and fills the defaults where a field was absent or null, as the job
// file parser does for HCL. The table of defaults is in docs/job-defaults.md.
//
// roam's own encodings (raft, RPC, state) are msgpack and never pass here;
// every job roam writes as JSON carries all its fields, so decoding what roam
// printed (job inspect) changes nothing.

// Defaults for fields absent from a JSON job.
const (
	DefaultAffinityWeight int8 = 50
	DefaultSpreadWeight   int8 = 50
	DefaultTemplateSplay       = 5 * time.Second
)

// UnmarshalJSON decodes a job and fills the defaults of absent fields.
func (j *Job) UnmarshalJSON(b []byte) error {
	type plain Job
	if err := json.Unmarshal(b, (*plain)(j)); err != nil {
		return err
	}
	var p jobPresence
	if err := json.Unmarshal(b, &p); err != nil {
		// The plain decode accepted these bytes, so the presence tree
		// (a subset of the same fields) does too; keep the job as decoded.
		return nil
	}
	p.fill(j)
	return nil
}

// jobPresence mirrors the fields of a job whose absence matters.
type jobPresence struct {
	Type       JobType
	Update     json.RawMessage
	Periodic   *struct{ Enabled *bool }
	Affinities []*weightPresence
	Spreads    []*weightPresence
	// Reschedule and Migrate are job-level blocks of Nomad's API only: they
	// are the base every group's policy is merged over.
	Reschedule json.RawMessage
	Migrate    json.RawMessage
	TaskGroups []*groupPresence
}

type weightPresence struct{ Weight *int8 }

type groupPresence struct {
	Count   *int
	Scaling *struct {
		Min     *int64
		Enabled *bool
	}
	RestartPolicy    json.RawMessage
	ReschedulePolicy json.RawMessage
	Migrate          json.RawMessage
	Update           json.RawMessage
	Affinities       []*weightPresence
	Spreads          []*weightPresence
	Services         []*servicePresence
	Tasks            []*taskPresence
}

type taskPresence struct {
	RestartPolicy json.RawMessage
	Affinities    []*weightPresence
	Services      []*servicePresence
	Templates     []*struct{ Splay *time.Duration }
	Vault         *struct{ Env *bool }
}

type servicePresence struct {
	Checks []*struct {
		CheckRestart *struct{ Grace *time.Duration }
	}
}

// given reports whether a raw field was sent with a value other than null.
func given(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// overlay decodes raw over base: fields raw leaves out keep base's value.
func overlay[T any](base *T, raw json.RawMessage) *T {
	// raw already decoded once into the same type, so this cannot fail.
	_ = json.Unmarshal(raw, base)
	return base
}

func (p *jobPresence) fill(j *Job) {
	typ := j.Type
	if typ == "" {
		typ = JobTypeService
	}
	if given(p.Update) {
		j.Update = *overlay(ptrTo(DefaultUpdateStrategy()), p.Update)
	}
	if j.Periodic != nil && p.Periodic != nil && p.Periodic.Enabled == nil {
		j.Periodic.Enabled = true
	}
	fillAffinities(j.Affinities, p.Affinities)
	fillSpreads(j.Spreads, p.Spreads)
	for i, tg := range j.TaskGroups {
		if tg != nil && i < len(p.TaskGroups) && p.TaskGroups[i] != nil {
			p.TaskGroups[i].fill(tg, j, typ, p)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

func (p *groupPresence) fill(tg *TaskGroup, j *Job, typ JobType, jp *jobPresence) {
	if p.Count == nil {
		tg.Count = 1
		if tg.Scaling != nil && p.Scaling != nil && p.Scaling.Min != nil {
			tg.Count = int(tg.Scaling.Min)
		}
	}
	if tg.Scaling != nil && p.Scaling != nil {
		if p.Scaling.Min == nil {
			tg.Scaling.Min = int64(tg.Count)
		}
		if p.Scaling.Enabled == nil {
			tg.Scaling.Enabled = true
		}
	}
	p.fillPolicies(tg, j, typ, jp)
	fillAffinities(tg.Affinities, p.Affinities)
	fillSpreads(tg.Spreads, p.Spreads)
	fillServices(tg.Services, p.Services)
	for i, t := range tg.Tasks {
		if t != nil && i < len(p.Tasks) && p.Tasks[i] != nil {
			p.Tasks[i].fill(t, tg, typ)
		}
	}
}

// fillPolicies merges each policy block the group sent over the job's
// block (Nomad's API has job-level reschedule and migrate) over the job
// type's default, so a block naming one field keeps the defaults of the
// others. A group that sent none keeps nil for Canonicalize.
func (p *groupPresence) fillPolicies(tg *TaskGroup, j *Job, typ JobType, jp *jobPresence) {
	if given(p.RestartPolicy) {
		tg.RestartPolicy = overlay(DefaultRestartPolicy(typ), p.RestartPolicy)
	}
	if given(p.ReschedulePolicy) || given(jp.Reschedule) {
		base := DefaultReschedulePolicy(typ)
		if base == nil {
			base = &ReschedulePolicy{}
		}
		if given(jp.Reschedule) {
			overlay(base, jp.Reschedule)
		}
		if given(p.ReschedulePolicy) {
			overlay(base, p.ReschedulePolicy)
		}
		tg.ReschedulePolicy = base
	}
	if given(p.Migrate) || given(jp.Migrate) {
		base := DefaultMigrateStrategy()
		if given(jp.Migrate) {
			overlay(base, jp.Migrate)
		}
		if given(p.Migrate) {
			overlay(base, p.Migrate)
		}
		tg.Migrate = base
	}
	if given(p.Update) {
		base := j.Update
		if base == (UpdateStrategy{}) {
			base = DefaultUpdateStrategy()
		}
		tg.Update = overlay(&base, p.Update)
	}
}

// fill merges a task's restart block over its group's, or over the job
// type's default when the group sent none (as Nomad's API does), so a task
// naming only its delay keeps a valid interval and mode.
func (p *taskPresence) fill(t *Task, tg *TaskGroup, typ JobType) {
	if given(p.RestartPolicy) {
		base := DefaultRestartPolicy(typ)
		if tg.RestartPolicy != nil {
			*base = *tg.RestartPolicy
		}
		t.RestartPolicy = overlay(base, p.RestartPolicy)
	}
	fillAffinities(t.Affinities, p.Affinities)
	fillServices(t.Services, p.Services)
	for i, tmpl := range t.Templates {
		if tmpl != nil && i < len(p.Templates) && p.Templates[i] != nil && p.Templates[i].Splay == nil {
			tmpl.Splay = DefaultTemplateSplay
		}
	}
	if t.Vault != nil && p.Vault != nil {
		if p.Vault.Env == nil {
			t.Vault.Env = true
		}
	}
}

func fillAffinities(list []*Affinity, p []*weightPresence) {
	for i, a := range list {
		if a != nil && i < len(p) && (p[i] == nil || p[i].Weight == nil) {
			a.Weight = DefaultAffinityWeight
		}
	}
}

func fillSpreads(list []*Spread, p []*weightPresence) {
	for i, s := range list {
		if s != nil && i < len(p) && (p[i] == nil || p[i].Weight == nil) {
			s.Weight = DefaultSpreadWeight
		}
	}
}

func fillServices(list []*Service, p []*servicePresence) {
	for i, s := range list {
		if s == nil || i >= len(p) || p[i] == nil {
			continue
		}
		for k, c := range s.Checks {
			if c == nil || c.CheckRestart == nil || k >= len(p[i].Checks) || p[i].Checks[k] == nil {
				continue
			}
			if cr := p[i].Checks[k].CheckRestart; cr != nil && cr.Grace == nil {
				c.CheckRestart.Grace = DefaultCheckRestartGrace
			}
		}
	}
}
