package server

import (
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/roam-sh/roam/structs"
)

// clampPriority is a test mutator: it lowers a priority above the maximum to
// the maximum, which the structural validator would otherwise refuse.
type clampPriority struct{}

func (clampPriority) Name() string { return "clamp-priority" }

func (clampPriority) Mutate(job *structs.Job) ([]string, error) {
	if job.Priority <= structs.MaxJobPriority {
		return nil, nil
	}
	job.Priority = structs.MaxJobPriority
	return []string{"priority clamped"}, nil
}

// forbidMeta is a test validator refusing jobs with meta "forbidden".
type forbidMeta struct{}

func (forbidMeta) Name() string { return "forbid-meta" }

func (forbidMeta) Validate(job *structs.Job, _ AdmissionScope) ([]string, error) {
	if _, ok := job.Meta["forbidden"]; ok {
		return nil, errors.New("meta \"forbidden\" is not allowed")
	}
	return []string{"checked meta"}, nil
}

// admissionOutcome is what the three admitting endpoints answered for one job.
type admissionOutcome struct {
	registerErr, planErr error
	validateErrs         []string
	warnings             [3]string // register, plan, validate
	stored               *structs.Job
	planned              *structs.JobDiff
}

// admitThrough submits job to Job.Register, Job.Plan and Job.Validate.
func admitThrough(t *testing.T, s *Server, job *structs.Job) admissionOutcome {
	t.Helper()
	var out admissionOutcome
	// Plan first: its diff is then against no job, so it shows every field.
	var plan structs.JobPlanResponse
	out.planErr = s.RPC(structs.MethodJobPlan, &structs.JobPlanRequest{Job: job, Diff: true}, &plan)
	var reg structs.JobRegisterResponse
	out.registerErr = s.RPC(structs.MethodJobRegister, &structs.JobRegisterRequest{Job: job}, &reg)
	var val structs.JobValidateResponse
	must(t, s.RPC(structs.MethodJobValidate, &structs.JobValidateRequest{Job: job}, &val))
	out.validateErrs = val.ValidationErrors
	out.warnings = [3]string{reg.Warnings, plan.Warnings, val.Warnings}
	out.stored, _ = s.State().JobByID(nil, structs.DefaultNamespace, job.ID)
	out.planned = plan.Diff
	return out
}

// TestAdmissionMutatorAppliesToAllEndpoints: a mutator added to the list
// changes the job that Register stores, that Plan schedules and that
// Validate checks, and its warnings reach all three replies. Without it the
// same job is refused by all three.
func TestAdmissionMutatorAppliesToAllEndpoints(t *testing.T) {
	job := testJob("clamped", 1)
	job.Priority = 1000

	plain := admitThrough(t, testServer(t), job)
	if ErrorCode(plain.registerErr) != 400 || ErrorCode(plain.planErr) != 400 || len(plain.validateErrs) == 0 {
		t.Fatalf("without the mutator priority 1000 must be refused everywhere: %+v", plain)
	}

	s := testServer(t, func(c *Config) {
		c.JobMutators = append(DefaultJobMutators(), clampPriority{})
	})
	got := admitThrough(t, s, job)
	if got.registerErr != nil || got.planErr != nil || len(got.validateErrs) != 0 {
		t.Fatalf("with the mutator the job must be admitted: %+v", got)
	}
	for i, w := range got.warnings {
		if !strings.Contains(w, "priority clamped") {
			t.Errorf("endpoint %d: mutator warning missing from %q", i, w)
		}
	}
	if got.stored == nil || got.stored.Priority != structs.MaxJobPriority {
		t.Fatalf("register stored %+v, want priority %d", got.stored, structs.MaxJobPriority)
	}
	if f := planField(got.planned, "Priority"); f == nil || f.New != "100" {
		t.Fatalf("plan diff priority: %+v", f)
	}
}

// TestAdmissionValidatorRefusesInAllEndpoints: a validator added to the list
// refuses the job in Register and Plan with a 400, and in Validate with the
// problem listed (a 200 over HTTP, as Nomad answers); every validator's
// problems are reported, not only the first.
func TestAdmissionValidatorRefusesInAllEndpoints(t *testing.T) {
	s := testServer(t, func(c *Config) {
		c.JobValidators = append(DefaultJobValidators(), forbidMeta{})
	})
	job := testJob("forbidden", 1)
	job.Priority = 1000 // refused by the structural validator too
	job.Meta = map[string]string{"forbidden": "yes"}
	got := admitThrough(t, s, job)
	for name, err := range map[string]error{"register": got.registerErr, "plan": got.planErr} {
		if ErrorCode(err) != 400 {
			t.Fatalf("%s: want a 400, got %v", name, err)
		}
		for _, want := range []string{"forbidden", "priority"} {
			if !strings.Contains(strings.ToLower(err.Error()), want) {
				t.Errorf("%s: %q does not report the %s problem", name, err, want)
			}
		}
	}
	if !slices.Contains(got.validateErrs, `meta "forbidden" is not allowed`) || len(got.validateErrs) < 2 {
		t.Fatalf("validate: want both validators' problems, got %q", got.validateErrs)
	}
	if got.stored != nil {
		t.Fatal("a refused job was stored")
	}

	ok := admitThrough(t, s, testJob("allowed", 1))
	if ok.registerErr != nil || ok.planErr != nil || len(ok.validateErrs) != 0 {
		t.Fatalf("a job the validator accepts: %+v", ok)
	}
	for i, w := range ok.warnings {
		if !strings.Contains(w, "checked meta") {
			t.Errorf("endpoint %d: validator warning missing from %q", i, w)
		}
	}
}

func planField(d *structs.JobDiff, name string) *structs.FieldDiff {
	if d == nil {
		return nil
	}
	for _, f := range d.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// refuseWhen is a test validator that refuses every job once switched on.
type refuseWhen struct{ on *atomic.Bool }

func (refuseWhen) Name() string { return "refuse-when" }

func (r refuseWhen) Validate(*structs.Job, AdmissionScope) ([]string, error) {
	if r.on.Load() {
		return nil, errors.New("admission closed")
	}
	return nil, nil
}

// TestAdmissionAppliesToRevert: reverting stores an old version as a new
// one, so it passes today's admission, not only the one of its first
// registration.
func TestAdmissionAppliesToRevert(t *testing.T) {
	var closed atomic.Bool
	s := testServer(t, func(c *Config) {
		c.JobValidators = append(DefaultJobValidators(), refuseWhen{&closed})
	})
	registerJob(t, s, testJob("web", 1))
	registerJob(t, s, testJob("web", 2))
	closed.Store(true)
	var rev structs.JobRegisterResponse
	err := s.RPC(structs.MethodJobRevert, &structs.JobRevertRequest{JobID: "web", JobVersion: 0}, &rev)
	if ErrorCode(err) != 400 || !strings.Contains(err.Error(), "admission closed") {
		t.Fatalf("revert past a refusing validator: %v", err)
	}
	closed.Store(false)
	must(t, s.RPC(structs.MethodJobRevert, &structs.JobRevertRequest{JobID: "web", JobVersion: 0}, &rev))
	if job, _ := s.State().JobByID(nil, structs.DefaultNamespace, "web"); job.Version != 2 || job.TaskGroups[0].Count != 1 {
		t.Fatalf("after revert: %+v", job)
	}
}
