package server

import (
	"errors"
	"fmt"

	"github.com/roam-sh/roam/structs"
)

// Job admission: every job a client submits for registration, planning or
// validation, and every old version a revert stores again, passes the same
// two ordered lists before the endpoint acts on it. Mutators run first, in order, on a private copy of the job; validators
// then all see the final job, so a problem in what a mutator added is
// reported like a problem the user wrote.
//
//	submitted job ─▶ copy ─▶ mutator 1 … mutator n ─▶ validator 1 … validator m ─▶ endpoint
//	                          (warnings, or error:      (warnings, and every problem
//	                           admission stops)          of every validator)

// JobMutator changes a submitted job before it is validated: defaults,
// injected tasks, derived constraints. Mutate edits job in place (it is the
// admission's own copy) and may return warnings for the user. An error stops
// admission; a mutator that refuses the job returns a *structs.ValidationError
// so that it is reported as a 400 with its problems.
type JobMutator interface {
	Name() string
	Mutate(job *structs.Job) (warnings []string, err error)
}

// JobValidator checks the mutated job without changing it. Every validator
// runs even when an earlier one failed: the user sees all problems at once.
// A validator reports its problems as a *structs.ValidationError (each
// problem one entry); any other error counts as one problem. scope is what
// the server knows beyond the job (its region, the namespaces that exist),
// handed in so that no validator reaches for the server or a global.
type JobValidator interface {
	Name() string
	Validate(job *structs.Job, scope AdmissionScope) (warnings []string, err error)
}

// DefaultJobMutators returns the server's mutators in the order they run.
// Order matters: each entry says why it sits where it does. A new step is a
// type in a file of its own (admission_<name>.go) and one entry here.
func DefaultJobMutators() []JobMutator {
	return []JobMutator{
		// Canonicalize first: it fills every default (type, priority,
		// datacenters, restart and reschedule policies, service provider,
		// address modes, template change modes…), so every later mutator and
		// every validator reads a complete job and never guesses a default.
		jobCanonicalizer{},

		// The Connect sidecar injector: a proxy task, its port and its
		// service per sidecar_service, and an expose path per check with
		// expose = true (right after its sidecar exists). It needs canonical
		// services (provider, port labels) and runs before the validators,
		// so that what it adds is validated like what the user wrote.
		connectInjector{},

		// Later, implied constraints go here, last: they are derived from the
		// final set of tasks (drivers, vault, injected proxies), so anything a
		// mutator above added is already in place.
	}
}

// DefaultJobValidators returns the server's validators in the order their
// problems are listed; a new one is added like a mutator.
func DefaultJobValidators() []JobValidator {
	return []JobValidator{
		// The structural validation first: its problems are about what the
		// user wrote, which is what they read first in the answer.
		jobStructValidator{},

		// Then where the job would live: its namespace must exist and its
		// region must be this cluster's. After the structure, so that a
		// malformed name is reported as such before being looked up.
		jobScopeValidator{},

		// Bounds after the structure: a field must be well-formed before
		// its size matters. Limits come from Config.JobLimits.
		jobBoundsValidator{},

		// Driver configs after the structure: a task must name its driver
		// before its config can be read. The checker comes from
		// Config.DriverConfigs (the agent's drivers).
		jobDriverConfigValidator{},

		// Warnings last: they are advice on a job that is otherwise valid
		// (deprecated fields, a sidecar port that hides a group port) and
		// never refuse it.
		jobWarner{},
	}
}

// admission holds the two ordered lists of one server. Built once from the
// config by newAdmission; tests replace the lists through Config.
type admission struct {
	mutators   []JobMutator
	validators []JobValidator
}

// newAdmission uses the config's lists, or the defaults where nil.
func newAdmission(cfg Config) *admission {
	a := &admission{mutators: cfg.JobMutators, validators: cfg.JobValidators}
	if a.mutators == nil {
		a.mutators = DefaultJobMutators()
	}
	if a.validators == nil {
		a.validators = DefaultJobValidators()
	}
	for i, v := range a.validators {
		switch v.(type) {
		case jobBoundsValidator:
			a.validators[i] = jobBoundsValidator{limits: cfg.JobLimits}
		case jobDriverConfigValidator:
			a.validators[i] = jobDriverConfigValidator{check: cfg.DriverConfigs}
		}
	}
	return a
}

// driverConfigsChecked reports whether the admission checks the driver
// config of every task of job (DriverConfigValidated of `job validate`).
func (a *admission) driverConfigsChecked(job *structs.Job) bool {
	for _, v := range a.validators {
		if dv, ok := v.(jobDriverConfigValidator); ok {
			return dv.driverConfigsChecked(job)
		}
	}
	return false
}

// admit copies in, places it in namespace ns when it names none, and runs the
// mutators and then the validators (which see scope). It returns the admitted job and the
// warnings of all steps. When validators refuse the job, the error is a
// *structs.ValidationError listing every problem of every validator.
func (a *admission) admit(in *structs.Job, ns string, scope AdmissionScope) (*structs.Job, []string, error) {
	if in == nil {
		return nil, nil, &structs.ValidationError{Problems: []string{"missing job"}}
	}
	job := in.Copy()
	if job.Namespace == "" {
		job.Namespace = namespaceOf(ns)
	}
	var warnings []string
	for _, m := range a.mutators {
		w, err := m.Mutate(job)
		warnings = append(warnings, w...)
		if err != nil {
			return nil, warnings, fmt.Errorf("admit job: %s: %w", m.Name(), err)
		}
	}
	var problems []string
	for _, v := range a.validators {
		w, err := v.Validate(job, scope)
		warnings = append(warnings, w...)
		problems = append(problems, problemsOf(err)...)
	}
	if len(problems) > 0 {
		return nil, warnings, &structs.ValidationError{Problems: problems}
	}
	return job, warnings, nil
}

// problemsOf flattens a validator's error into its list of problems.
func problemsOf(err error) []string {
	if err == nil {
		return nil
	}
	var ve *structs.ValidationError
	if errors.As(err, &ve) {
		return ve.Problems
	}
	return []string{err.Error()}
}

// jobCanonicalizer fills the defaults of a submitted job.
type jobCanonicalizer struct{}

func (jobCanonicalizer) Name() string { return "canonicalize" }

func (jobCanonicalizer) Mutate(job *structs.Job) ([]string, error) {
	job.Canonicalize()
	return nil, nil
}

// jobStructValidator is the job's own Validate: every field, every block.
type jobStructValidator struct{}

func (jobStructValidator) Name() string { return "validate" }

func (jobStructValidator) Validate(job *structs.Job, _ AdmissionScope) ([]string, error) {
	return nil, job.Validate()
}

// jobWarner reports the job's warnings; it never refuses a job.
type jobWarner struct{}

func (jobWarner) Name() string { return "warnings" }

func (jobWarner) Validate(job *structs.Job, _ AdmissionScope) ([]string, error) {
	return job.Warnings(), nil
}
