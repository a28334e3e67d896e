package structs

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
)

// MaxJobIDLength bounds job IDs so that they fit in names derived from them.
const MaxJobIDLength = 128

// ValidationError lists every problem Validate found, one per line. Each
// problem starts with the path of what it concerns, for example
// `Task group "web": Task "app": missing driver`.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string { return strings.Join(e.Problems, "\n") }

// problems collects messages under a path prefix; in returns a collector for
// a nested object. All collectors of one validation share one list.
type problems struct {
	prefix string
	list   *[]string
}

func newProblems() problems { return problems{list: new([]string)} }

func (p problems) addf(format string, args ...any) {
	*p.list = append(*p.list, p.prefix+fmt.Sprintf(format, args...))
}

func (p problems) in(format string, args ...any) problems {
	return problems{prefix: p.prefix + fmt.Sprintf(format, args...) + ": ", list: p.list}
}

func (p problems) err() error {
	if len(*p.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: *p.list}
}

// Validate checks a canonicalized job and returns a *ValidationError listing
// every problem, or nil.
func (j *Job) Validate() error {
	p := newProblems()
	if j == nil {
		p.addf("missing job")
		return p.err()
	}
	if nils := j.NilEntries(); len(nils) > 0 {
		for _, path := range nils {
			p.addf("%s is null", path)
		}
		return p.err()
	}
	j.validateIdentity(p)
	valueProblems(reflect.ValueOf(j).Elem(), "", false, p)
	j.validatePlacement(p)
	j.validateKind(p)
	if len(j.TaskGroups) == 0 {
		p.addf("job must have at least one task group")
	}
	seen := map[string]bool{}
	for i, tg := range j.TaskGroups {
		if tg == nil {
			p.addf("task group %d is empty", i+1)
			continue
		}
		gp := p.in("Task group %q", tg.Name)
		if tg.Name == "" {
			gp = p.in("Task group %d", i+1)
			gp.addf("missing name")
		} else if seen[tg.Name] {
			gp.addf("group name is used more than once")
		}
		seen[tg.Name] = true
		tg.validate(gp, j)
	}
	return p.err()
}

func (j *Job) validateIdentity(p problems) {
	switch {
	case j.ID == "":
		p.addf("missing job ID")
	case strings.Contains(j.ID, " "):
		p.addf("job ID %q contains a space", j.ID)
	case strings.ContainsRune(j.ID, 0):
		p.addf("job ID contains a null character")
	case len(j.ID) > MaxJobIDLength:
		p.addf("job ID is %d characters long; the limit is %d", len(j.ID), MaxJobIDLength)
	}
	if j.Name == "" {
		p.addf("missing job name")
	}
	if j.Namespace == "" {
		p.addf("missing job namespace")
	}
	if j.Region == "" {
		p.addf("missing job region")
	}
	if j.Type == "" {
		p.addf("missing job type")
	} else if _, err := ParseJobType(string(j.Type)); err != nil {
		p.addf("%v", err)
	}
	if j.Priority < MinJobPriority || j.Priority > MaxJobPriority {
		p.addf("job priority %d is out of range; it must be between %d and %d", j.Priority, MinJobPriority, MaxJobPriority)
	}
}

func (j *Job) validatePlacement(p problems) {
	if len(j.Datacenters) == 0 {
		p.addf("job must have at least one datacenter")
	}
	for _, dc := range j.Datacenters {
		if dc == "" {
			p.addf("datacenter names must not be empty")
		}
	}
	validateConstraints(p, j.Constraints)
	validateAffinities(p, j.Affinities)
	validateSpreads(p, j.Spreads)
	if j.Type.IsSystemLike() {
		if len(j.Affinities) > 0 {
			p.addf("%s jobs cannot have affinities", j.Type)
		}
		if len(j.Spreads) > 0 {
			p.addf("%s jobs cannot have spreads", j.Type)
		}
	}
}

// validateKind checks the periodic and parameterized settings.
func (j *Job) validateKind(p problems) {
	if j.IsPeriodic() {
		pp := p.in("Periodic")
		if !j.Type.RunsToCompletion() {
			pp.addf("only batch and sysbatch jobs can be periodic")
		}
		if j.Periodic.Spec == "" && len(j.Periodic.Specs) == 0 {
			pp.addf("missing cron specification")
		}
		if j.Periodic.SpecType != "" && j.Periodic.SpecType != "cron" {
			pp.addf("unknown spec type %q", j.Periodic.SpecType)
		} else {
			j.Periodic.validateSpecs(pp)
		}
	}
	if pj := j.ParameterizedJob; pj != nil {
		pp := p.in("Parameterized")
		if !j.Type.RunsToCompletion() {
			pp.addf("only batch and sysbatch jobs can be parameterized")
		}
		checkOneOf(pp, "payload", pj.Payload, DispatchPayloadModes())
		required := map[string]bool{}
		for _, k := range pj.MetaRequired {
			required[k] = true
		}
		for _, k := range pj.MetaOptional {
			if required[k] {
				pp.addf("meta key %q is both required and optional", k)
			}
		}
	}
}

// checkOneOf reports value when it is set and not in allowed.
func checkOneOf(p problems, field, value string, allowed []string) {
	if value == "" {
		return
	}
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	p.addf("%s %q is not one of %s", field, value, strings.Join(allowed, ", "))
}

// checkParsed reports a typed value that is set but that its parser refuses;
// the parser's error lists the known values.
func checkParsed[T ~string](p problems, field string, value T, parse func(string) (T, error)) {
	if value == "" {
		return
	}
	if _, err := parse(string(value)); err != nil {
		p.addf("%s: %v", field, err)
	}
}

func (tg *TaskGroup) validate(p problems, j *Job) {
	if tg.Count < 0 {
		p.addf("count must not be negative; got %d", tg.Count)
	}
	validateConstraints(p, tg.Constraints)
	validateAffinities(p, tg.Affinities)
	validateSpreads(p, tg.Spreads)
	if j.Type.IsSystemLike() {
		if len(tg.Affinities) > 0 {
			p.addf("%s jobs cannot have affinities", j.Type)
		}
		if len(tg.Spreads) > 0 {
			p.addf("%s jobs cannot have spreads", j.Type)
		}
	}
	tg.validatePolicies(p, j)
	tg.validateDisk(p)
	tg.validateScaling(p)
	tg.validateVolumes(p)
	tg.validateNetworks(p)
	tg.validateServices(p)
	tg.validateTasks(p, j)
}

func (tg *TaskGroup) validatePolicies(p problems, j *Job) {
	if tg.RestartPolicy != nil {
		tg.RestartPolicy.validate(p.in("Restart policy"))
	}
	// With an unknown job type the job-level problem is reported; rules that
	// depend on the type would only repeat it.
	if _, err := ParseJobType(string(j.Type)); err == nil {
		tg.validateTypedPolicies(p, j.Type)
	}
	if d := tg.Disconnect; d != nil {
		if tg.MaxClientDisconnect != nil && d.LostAfter != 0 {
			p.addf("max_client_disconnect and disconnect.lost_after cannot both be set")
		}
		if tg.StopAfterClientDisconnect != nil && d.StopOnClientAfter != nil {
			p.addf("stop_after_client_disconnect and disconnect.stop_on_client_after cannot both be set")
		}
		checkOneOf(p.in("Disconnect"), "reconcile", d.Reconcile, DisconnectReconcileModes())
	}
}

// validateTypedPolicies checks the policies whose rules depend on the job
// type: reschedule, update and migrate.
func (tg *TaskGroup) validateTypedPolicies(p problems, typ JobType) {
	if rp := tg.ReschedulePolicy; rp != nil {
		if typ.IsSystemLike() {
			p.addf("system and sysbatch jobs cannot have a reschedule policy")
		} else {
			rp.validate(p.in("Reschedule policy"))
		}
	}
	if u := tg.Update; u != nil {
		if typ != JobTypeService && typ != JobTypeSystem {
			p.addf("%s jobs cannot have an update block", typ)
		} else {
			u.validate(p.in("Update"))
		}
	}
	if m := tg.Migrate; m != nil {
		if typ != JobTypeService {
			p.addf("%s jobs cannot have a migrate block", typ)
		} else {
			m.validate(p.in("Migrate"))
		}
	}
}

// minRestartInterval is the shortest restart interval a policy may use.
const minRestartInterval = 5 * time.Second

func (r *RestartPolicy) validate(p problems) {
	if _, err := ParseRestartMode(string(r.Mode)); err != nil {
		p.addf("%v", err)
	}
	if r.Attempts < 0 {
		p.addf("attempts must not be negative; got %d", r.Attempts)
	}
	if r.Interval < minRestartInterval {
		p.addf("interval %s is below the minimum of %s", r.Interval, minRestartInterval)
	}
	if r.Attempts > 0 && r.Delay > 0 && mulSat(int64(r.Attempts), int64(r.Delay)) > int64(r.Interval) {
		p.addf("%d attempts with a delay of %s do not fit in an interval of %s", r.Attempts, r.Delay, r.Interval)
	}
}

// minRescheduleDelay is the shortest delay between reschedule attempts.
const minRescheduleDelay = 5 * time.Second

func (r *ReschedulePolicy) validate(p problems) {
	if r.Attempts < 0 {
		p.addf("attempts must not be negative; got %d", r.Attempts)
	}
	active := r.Unlimited || r.Attempts > 0
	if !active {
		return
	}
	checkOneOf(p, "delay_function", r.DelayFunction, RescheduleDelayFunctions())
	if r.DelayFunction == "" {
		p.addf("missing delay_function")
	}
	if r.Delay < minRescheduleDelay {
		p.addf("delay %s is below the minimum of %s", r.Delay, minRescheduleDelay)
	}
	if r.DelayFunction != "constant" && r.DelayFunction != "" && r.MaxDelay < r.Delay {
		p.addf("max_delay %s must not be less than delay %s", r.MaxDelay, r.Delay)
	}
	if !r.Unlimited && r.Interval == 0 {
		p.addf("interval must be set when attempts is %d", r.Attempts)
	}
}

func (u *UpdateStrategy) validate(p problems) {
	if u.MaxParallel < 0 {
		p.addf("max_parallel must not be negative")
	}
	if u.Canary < 0 {
		p.addf("canary must not be negative")
	}
	checkOneOf(p, "health_check", u.HealthCheck, UpdateHealthChecks())
	if u.AutoPromote && u.Canary == 0 {
		p.addf("auto_promote requires canary to be greater than zero")
	}
	if u.MaxParallel == 0 {
		return
	}
	if u.HealthyDeadline <= 0 {
		p.addf("healthy_deadline must be greater than zero")
	}
	if u.HealthyDeadline > 0 && u.MinHealthyTime >= u.HealthyDeadline {
		p.addf("min_healthy_time %s must be less than healthy_deadline %s", u.MinHealthyTime, u.HealthyDeadline)
	}
	if u.ProgressDeadline != 0 && u.HealthyDeadline >= u.ProgressDeadline {
		p.addf("healthy_deadline %s must be less than progress_deadline %s", u.HealthyDeadline, u.ProgressDeadline)
	}
}

func (m *MigrateStrategy) validate(p problems) {
	if m.MaxParallel < 0 {
		p.addf("max_parallel must not be negative")
	}
	checkOneOf(p, "health_check", m.HealthCheck, []string{"checks", "task_states"})
	if m.HealthyDeadline > 0 && m.MinHealthyTime >= m.HealthyDeadline {
		p.addf("min_healthy_time %s must be less than healthy_deadline %s", m.MinHealthyTime, m.HealthyDeadline)
	}
}

// minEphemeralDiskMB is the smallest ephemeral disk a group may ask for.
const minEphemeralDiskMB = 10

func (tg *TaskGroup) validateDisk(p problems) {
	if tg.EphemeralDisk == nil {
		return
	}
	size := tg.EphemeralDisk.SizeMB
	if size < minEphemeralDiskMB {
		p.addf("ephemeral_disk size must be at least %d MB; got %d", minEphemeralDiskMB, size)
		return
	}
	// Nomad no longer refuses task logs larger than the ephemeral disk (the
	// disk is a scheduling hint, logs rotate), so roam accepts them too;
	// only a total too large to count is refused.
	logs := int64(0)
	for _, t := range tg.Tasks {
		if t != nil && t.LogConfig != nil && !t.LogConfig.Disabled {
			logs = addSat(logs, mulSat(int64(t.LogConfig.MaxFiles), int64(t.LogConfig.MaxFileSizeMB)))
		}
	}
	if logs == math.MaxInt64 {
		p.addf("task logs may use more space than can be counted (max_files × max_file_size)")
	}
}

func (tg *TaskGroup) validateScaling(p problems) {
	s := tg.Scaling
	if s == nil {
		return
	}
	sp := p.in("Scaling")
	if s.Min < 0 {
		sp.addf("min must not be negative")
	}
	if s.Max < s.Min {
		sp.addf("max %d must not be less than min %d", s.Max, s.Min)
	}
	if int64(tg.Count) < s.Min || int64(tg.Count) > s.Max {
		sp.addf("count %d must be between min %d and max %d", tg.Count, s.Min, s.Max)
	}
}

func (tg *TaskGroup) validateVolumes(p problems) {
	for name, v := range tg.Volumes {
		if v == nil {
			continue
		}
		vp := p.in("Volume %q", name)
		switch {
		case v.Type == "":
			vp.addf("missing type")
		default:
			checkOneOf(vp, "type", v.Type, VolumeTypes())
		}
		if v.Source == "" {
			vp.addf("missing source")
		}
	}
}

// mulSat and addSat are a*b and a+b for non-negative operands, saturating
// at math.MaxInt64 instead of wrapping: a check such as "attempts × delay
// fits the interval" must not pass because huge values overflowed.
func mulSat(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
