package structs

import (
	"fmt"
	"slices"
)

// parseEnum is the shared parser behind the typed string enums: it accepts only
// the listed values, so a typo in a job file or API body is refused early.
func parseEnum[T ~string](kind, s string, valid []T) (T, error) {
	for _, v := range valid {
		if string(v) == s {
			return v, nil
		}
	}
	known := make([]string, len(valid))
	for i, v := range valid {
		known[i] = string(v)
	}
	return "", &UnknownValueError{Kind: kind, Value: s, Known: known}
}

// UnknownValueError is what the Parse functions of typed enums return for a
// value they do not know. Known lets a caller that has more context (the
// job-file parser, with a position and a did-you-mean) word its own message.
type UnknownValueError struct {
	Kind  string   // "check type"
	Value string   // what was given
	Known []string // every accepted value, in order
}

func (e *UnknownValueError) Error() string {
	names := make([]string, len(e.Known))
	for i, v := range e.Known {
		names[i] = fmt.Sprintf("%q", v)
	}
	return fmt.Sprintf("unknown %s %q (want one of %s)", e.Kind, e.Value, joinOr(names))
}

func joinOr(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	out := ""
	for i, v := range s[:len(s)-1] {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out + " or " + s[len(s)-1]
}

// JobType selects the scheduler that places a job.
type JobType string

const (
	JobTypeService  JobType = "service"
	JobTypeBatch    JobType = "batch"
	JobTypeSystem   JobType = "system"
	JobTypeSysbatch JobType = "sysbatch"
	// JobTypeCore is used for the server's internal garbage-collection evaluations.
	JobTypeCore JobType = "_core"
)

var jobTypes = []JobType{JobTypeService, JobTypeBatch, JobTypeSystem, JobTypeSysbatch}

func (t JobType) String() string { return string(t) }

// ParseJobType rejects anything but the four user-visible job types.
func ParseJobType(s string) (JobType, error) { return parseEnum("job type", s, jobTypes) }

// IsSystemLike reports whether the job places one allocation per eligible node.
func (t JobType) IsSystemLike() bool { return t == JobTypeSystem || t == JobTypeSysbatch }

// RunsToCompletion reports whether allocations that exit successfully are done.
func (t JobType) RunsToCompletion() bool { return t == JobTypeBatch || t == JobTypeSysbatch }

// JobStatus is derived from the job's allocations and evaluations.
type JobStatus string

const (
	JobStatusPending JobStatus = "pending"
	JobStatusRunning JobStatus = "running"
	JobStatusDead    JobStatus = "dead"
)

func (s JobStatus) String() string { return string(s) }

// AllocDesiredStatus is what the servers want an allocation to do.
type AllocDesiredStatus string

const (
	AllocDesiredStatusRun   AllocDesiredStatus = "run"
	AllocDesiredStatusStop  AllocDesiredStatus = "stop"
	AllocDesiredStatusEvict AllocDesiredStatus = "evict"
)

func (s AllocDesiredStatus) String() string { return string(s) }

// AllocClientStatus is what the client reports an allocation is doing.
type AllocClientStatus string

const (
	AllocClientStatusPending  AllocClientStatus = "pending"
	AllocClientStatusRunning  AllocClientStatus = "running"
	AllocClientStatusComplete AllocClientStatus = "complete"
	AllocClientStatusFailed   AllocClientStatus = "failed"
	AllocClientStatusLost     AllocClientStatus = "lost"
	AllocClientStatusUnknown  AllocClientStatus = "unknown"
)

func (s AllocClientStatus) String() string { return string(s) }

// Terminal reports whether the client has finished with the allocation for good.
func (s AllocClientStatus) Terminal() bool {
	return s == AllocClientStatusComplete || s == AllocClientStatusFailed || s == AllocClientStatusLost
}

// EvalStatus tracks an evaluation through the broker.
type EvalStatus string

const (
	EvalStatusBlocked   EvalStatus = "blocked"
	EvalStatusPending   EvalStatus = "pending"
	EvalStatusComplete  EvalStatus = "complete"
	EvalStatusFailed    EvalStatus = "failed"
	EvalStatusCancelled EvalStatus = "canceled"
)

func (s EvalStatus) String() string { return string(s) }

// Terminal reports whether the evaluation will not be processed again.
func (s EvalStatus) Terminal() bool {
	return s == EvalStatusComplete || s == EvalStatusFailed || s == EvalStatusCancelled
}

// EvalTrigger records why an evaluation was created.
type EvalTrigger string

const (
	EvalTriggerJobRegister       EvalTrigger = "job-register"
	EvalTriggerJobDeregister     EvalTrigger = "job-deregister"
	EvalTriggerPeriodicJob       EvalTrigger = "periodic-job"
	EvalTriggerNodeDrain         EvalTrigger = "node-drain"
	EvalTriggerNodeUpdate        EvalTrigger = "node-update"
	EvalTriggerAllocStop         EvalTrigger = "alloc-stop"
	EvalTriggerScheduled         EvalTrigger = "scheduled"
	EvalTriggerRollingUpdate     EvalTrigger = "rolling-update"
	EvalTriggerDeploymentWatcher EvalTrigger = "deployment-watcher"
	EvalTriggerFailedFollowUp    EvalTrigger = "failed-follow-up"
	EvalTriggerMaxPlans          EvalTrigger = "max-plan-attempts"
	EvalTriggerRetryFailedAlloc  EvalTrigger = "alloc-failure"
	EvalTriggerQueuedAllocs      EvalTrigger = "queued-allocs"
	EvalTriggerPreemption        EvalTrigger = "preemption"
	EvalTriggerJobScaling        EvalTrigger = "job-scaling"
	EvalTriggerReconnect         EvalTrigger = "reconnect"
)

func (t EvalTrigger) String() string { return string(t) }

// NodeStatus is the liveness of a client as seen by the servers.
type NodeStatus string

const (
	NodeStatusInit         NodeStatus = "initializing"
	NodeStatusReady        NodeStatus = "ready"
	NodeStatusDown         NodeStatus = "down"
	NodeStatusDisconnected NodeStatus = "disconnected"
)

func (s NodeStatus) String() string { return string(s) }

// ParseNodeStatus accepts the statuses a client may report.
func ParseNodeStatus(s string) (NodeStatus, error) {
	return parseEnum("node status", s, []NodeStatus{NodeStatusInit, NodeStatusReady, NodeStatusDown, NodeStatusDisconnected})
}

// NodeEligibility says whether the scheduler may place new work on a node.
type NodeEligibility string

const (
	NodeSchedulingEligible   NodeEligibility = "eligible"
	NodeSchedulingIneligible NodeEligibility = "ineligible"
)

func (e NodeEligibility) String() string { return string(e) }

// ParseNodeEligibility accepts "eligible" or "ineligible".
func ParseNodeEligibility(s string) (NodeEligibility, error) {
	return parseEnum("node eligibility", s, []NodeEligibility{NodeSchedulingEligible, NodeSchedulingIneligible})
}

// TaskStateName is the coarse state of one task.
type TaskStateName string

const (
	TaskStatePending TaskStateName = "pending"
	TaskStateRunning TaskStateName = "running"
	TaskStateDead    TaskStateName = "dead"
)

func (s TaskStateName) String() string { return string(s) }

// NetworkMode is a group network's isolation mode; "cni/<name>" values are also valid.
type NetworkMode string

const (
	NetworkModeHost   NetworkMode = "host"
	NetworkModeBridge NetworkMode = "bridge"
	NetworkModeNone   NetworkMode = "none"
	// NetworkModeCNIPrefix prefixes modes that name an operator CNI network.
	NetworkModeCNIPrefix = "cni/"
)

func (m NetworkMode) String() string { return string(m) }

// IsCNI reports whether the mode names an operator-provided CNI network.
func (m NetworkMode) IsCNI() bool {
	return len(m) > len(NetworkModeCNIPrefix) && string(m[:len(NetworkModeCNIPrefix)]) == NetworkModeCNIPrefix
}

// CNIName is the network name of a cni/<name> mode, or "".
func (m NetworkMode) CNIName() string {
	if !m.IsCNI() {
		return ""
	}
	return string(m[len(NetworkModeCNIPrefix):])
}

// Isolated reports whether the mode gives the allocation its own network
// namespace: every mode but host does, so that a mode added to the
// client's list (client/network) needs no change here, and a mode a
// client lacks is refused by its network manager, naming those it has.
func (m NetworkMode) Isolated() bool {
	return m != "" && m != NetworkModeHost
}

// ParseNetworkMode accepts host, bridge, none and cni/<name>; "" means host.
func ParseNetworkMode(s string) (NetworkMode, error) {
	if s == "" {
		return NetworkModeHost, nil
	}
	m := NetworkMode(s)
	if m.IsCNI() {
		return m, nil
	}
	return parseEnum("network mode", s, []NetworkMode{NetworkModeHost, NetworkModeBridge, NetworkModeNone, NetworkModeCNIPrefix + "<name>"})
}

// LifecycleHook names when a non-main task runs relative to the main tasks.
type LifecycleHook string

const (
	LifecycleHookPrestart  LifecycleHook = "prestart"
	LifecycleHookPoststart LifecycleHook = "poststart"
	LifecycleHookPoststop  LifecycleHook = "poststop"
)

func (h LifecycleHook) String() string { return string(h) }

// ParseLifecycleHook accepts prestart, poststart and poststop.
func ParseLifecycleHook(s string) (LifecycleHook, error) {
	return parseEnum("lifecycle hook", s, []LifecycleHook{LifecycleHookPrestart, LifecycleHookPoststart, LifecycleHookPoststop})
}

// RestartMode decides what happens when restart attempts run out.
type RestartMode string

const (
	RestartModeFail  RestartMode = "fail"
	RestartModeDelay RestartMode = "delay"
)

// ParseRestartMode accepts fail and delay.
func ParseRestartMode(s string) (RestartMode, error) {
	return parseEnum("restart mode", s, []RestartMode{RestartModeFail, RestartModeDelay})
}

// ConstraintOperand is a comparison used by constraints and affinities.
type ConstraintOperand = string

const (
	ConstraintEqual            = "="
	ConstraintNotEqual         = "!="
	ConstraintLess             = "<"
	ConstraintLessEqual        = "<="
	ConstraintGreater          = ">"
	ConstraintGreaterEqual     = ">="
	ConstraintRegex            = "regexp"
	ConstraintVersion          = "version"
	ConstraintSemver           = "semver"
	ConstraintSetContains      = "set_contains"
	ConstraintSetContainsAll   = "set_contains_all"
	ConstraintSetContainsAny   = "set_contains_any"
	ConstraintDistinctHosts    = "distinct_hosts"
	ConstraintDistinctProperty = "distinct_property"
	ConstraintAttributeIsSet   = "is_set"
	ConstraintAttributeNotSet  = "is_not_set"
)

// constraintOperands lists every operand a constraint may use, after aliases are
// normalised by NormalizeOperand.
var constraintOperands = []string{
	ConstraintEqual, ConstraintNotEqual, ConstraintLess, ConstraintLessEqual,
	ConstraintGreater, ConstraintGreaterEqual, ConstraintRegex, ConstraintVersion,
	ConstraintSemver, ConstraintSetContains, ConstraintSetContainsAll,
	ConstraintSetContainsAny, ConstraintDistinctHosts, ConstraintDistinctProperty,
	ConstraintAttributeIsSet, ConstraintAttributeNotSet,
}

// NormalizeOperand maps the aliases a job file may use ("==", "is", "not") to the
// canonical operand and reports whether the operand is known.
func NormalizeOperand(op string) (string, bool) {
	switch op {
	case "", "==", "is":
		return ConstraintEqual, true
	case "not":
		return ConstraintNotEqual, true
	}
	return op, slices.Contains(constraintOperands, op)
}
