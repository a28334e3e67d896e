package structs

import (
	"slices"
	"time"
)

// ServiceRegistration is one service instance in roam's catalog. Both
// providers ("nomad" and "consul") register into this one catalog, which the
// servers replicate; the Nomad-shaped and Consul-shaped HTTP APIs, DNS and
// templates all read it.
//
// The fields up to ModifyIndex are Nomad's, with Nomad's JSON names; the rest
// are roam's (Nomad clients ignore unknown fields).
type ServiceRegistration struct {
	ID          string
	ServiceName string
	Namespace   string
	NodeID      string
	Datacenter  string
	JobID       string
	AllocID     string
	Tags        []string
	Address     string
	Port        int
	CreateIndex uint64
	ModifyIndex uint64

	// Provider is the service block's provider: which API family the job
	// author had in mind. Every read sees every instance whatever its
	// provider; it is kept so the Consul-shaped API can say where an
	// instance came from.
	Provider ServiceProvider
	// Meta is the service's meta (canary_meta merged over it while the
	// allocation is a canary), interpolated.
	Meta map[string]string
	// Canary is true while the allocation is an undecided canary (its
	// tags and meta are then canary_tags and canary_meta).
	Canary bool
	// TaskName is the task a task-level service belongs to ("" for a
	// group service).
	TaskName string
	// Health is the instance's aggregate health: the worst of its checks'
	// statuses, HealthPassing when it has no checks. Readers that send
	// traffic leave critical instances out (services.Routable). An empty
	// value (a registration from a Nomad client) counts as passing.
	Health HealthStatus
	// Checks are the instance's checks with their latest status, in the
	// order of the service block. Only status changes are replicated,
	// through ServiceRegistration.UpdateHealth.
	Checks []*ServiceCheckStatus
}

// HealthStatus is a check's or an instance's health, Consul's three values.
type HealthStatus string

const (
	HealthPassing  HealthStatus = "passing"
	HealthWarning  HealthStatus = "warning"
	HealthCritical HealthStatus = "critical"
)

func (h HealthStatus) String() string { return string(h) }

// HealthStatuses lists the known values, best first.
func HealthStatuses() []HealthStatus {
	return []HealthStatus{HealthPassing, HealthWarning, HealthCritical}
}

// ParseHealthStatus accepts passing, warning and critical.
func ParseHealthStatus(s string) (HealthStatus, error) {
	return parseEnum("health status", s, HealthStatuses())
}

// rank orders statuses from best (0) to worst; "" counts as passing.
func (h HealthStatus) rank() int {
	switch h {
	case HealthWarning:
		return 1
	case HealthCritical:
		return 2
	}
	return 0
}

// Worse returns the worse of two statuses.
func (h HealthStatus) Worse(o HealthStatus) HealthStatus {
	if o.rank() > h.rank() {
		return o
	}
	return h
}

// Normalize maps "" (no health recorded) to HealthPassing.
func (h HealthStatus) Normalize() HealthStatus {
	if h == "" {
		return HealthPassing
	}
	return h
}

// ServiceCheckStatus is one check of an instance and its latest result.
type ServiceCheckStatus struct {
	// ID is deterministic: the registration ID and the check's name, so a
	// restarted client finds the same check.
	ID     string
	Name   string
	Type   CheckType
	Status HealthStatus
	// Output is what the last run said (an HTTP status line, a dial error,
	// a script's output), truncated by the check runner.
	Output string
	// Timestamp is when the status was observed, stamped by the client.
	Timestamp time.Time
}

// AggregateHealth is the worst of the checks' statuses, HealthPassing for
// none.
func AggregateHealth(checks []*ServiceCheckStatus) HealthStatus {
	h := HealthPassing
	for _, c := range checks {
		h = h.Worse(c.Status)
	}
	return h
}

// SameHealth reports whether two registrations carry the same health: the
// same aggregate and the same checks with the same status and output.
// Timestamps are ignored, so re-sending an unchanged result changes nothing.
func SameHealth(a, b *ServiceRegistration) bool {
	if a.Health.Normalize() != b.Health.Normalize() || len(a.Checks) != len(b.Checks) {
		return false
	}
	for i, c := range a.Checks {
		d := b.Checks[i]
		if c.ID != d.ID || c.Name != d.Name || c.Type != d.Type || c.Status != d.Status || c.Output != d.Output {
			return false
		}
	}
	return true
}

// SameCheckSet reports whether two registrations have the same checks, by ID
// and in order: a re-registration with the same checks keeps the health the
// check runner reported.
func SameCheckSet(a, b *ServiceRegistration) bool {
	return slices.EqualFunc(a.Checks, b.Checks, func(x, y *ServiceCheckStatus) bool { return x.ID == y.ID })
}

// Copy returns a deep copy.
func (r *ServiceRegistration) Copy() *ServiceRegistration {
	if r == nil {
		return nil
	}
	c := *r
	c.Tags = slices.Clone(r.Tags)
	if r.Meta != nil {
		c.Meta = make(map[string]string, len(r.Meta))
		for k, v := range r.Meta {
			c.Meta[k] = v
		}
	}
	c.Checks = make([]*ServiceCheckStatus, 0, len(r.Checks))
	for _, ch := range r.Checks {
		cc := *ch
		c.Checks = append(c.Checks, &cc)
	}
	if r.Checks == nil {
		c.Checks = nil
	}
	return &c
}

// ServiceHealthUpdate is one instance's new health, as the check runner
// observed it.
type ServiceHealthUpdate struct {
	// ID is the registration's ID.
	ID string
	// Health is the new aggregate; "" lets the server compute it from
	// Checks (AggregateHealth).
	Health HealthStatus
	// Checks replace the registration's checks.
	Checks []*ServiceCheckStatus
}

// ServiceRegistrationUpdateHealthRequest carries check status changes, batched
// (ServiceRegistration.UpdateHealth). With a workload identity as AuthToken,
// every update must be of that allocation's registrations.
type ServiceRegistrationUpdateHealthRequest struct {
	Updates []*ServiceHealthUpdate
	WriteRequest
}
