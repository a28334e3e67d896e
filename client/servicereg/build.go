package servicereg

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/structs"
)

// Owner says whose services these are: a task's (Task set) or the group's.
type Owner struct {
	Group string
	Task  string
}

func (o Owner) String() string {
	if o.Task != "" {
		return "task " + o.Task
	}
	return "group " + o.Group
}

// Instance is one registered instance with what a check runner needs.
type Instance struct {
	// Registration is what the servers store (ID, address, port, initial
	// health and checks).
	Registration *structs.ServiceRegistration
	// Service is the service block with its name, tags and meta
	// interpolated; its Checks are the checks to run (their fields as the
	// job wrote them).
	Service *structs.Service
	// Task is the task the instance belongs to: the owner task, or a group
	// service's task ("" when it names none). Script checks run in it and
	// check_restart restarts it.
	Task string
	// Network resolves a check's address_mode and port (Network.Address)
	// and names the namespace to dial from (NSPath).
	Network *Network
	// Token is the workload identity to report health with ("" for none).
	Token string
}

// BuildInput is what Build needs.
type BuildInput struct {
	Alloc    *structs.Allocation
	Owner    Owner
	Services []*structs.Service
	// Interpolate expands ${...} in names, tags, meta and addresses (the
	// allocation's or the task's environment).
	Interpolate func(string) string
	Network     *Network
	// Datacenter is the node's.
	Datacenter string
}

// Build turns service blocks into registrations. Every problem is reported
// (errors.Join), each naming its service: a name that is not an RFC 1123
// label once interpolated, a port the group does not have, an address mode
// the network cannot serve.
func Build(in BuildInput) ([]*Instance, error) {
	var out []*Instance
	var errs []error
	for _, s := range in.Services {
		if s == nil {
			continue
		}
		inst, err := build(in, s)
		if err != nil {
			errs = append(errs, fmt.Errorf("service %q: %w", s.Name, err))
			continue
		}
		out = append(out, inst)
	}
	return out, errors.Join(errs...)
}

func build(in BuildInput, s *structs.Service) (*Instance, error) {
	a := in.Alloc
	svc := interpolated(s, in.Interpolate)
	if strings.Contains(svc.Name, "${") {
		return nil, fmt.Errorf("name %q has a reference the environment does not define", svc.Name)
	}
	if msg := structs.ServiceNameProblem(svc.Name); msg != "" {
		return nil, fmt.Errorf("interpolated from %q: %s", s.Name, msg)
	}
	addr, port, err := in.Network.Address(svc.AddressMode, svc.PortLabel)
	if err != nil {
		return nil, err
	}
	if svc.Address != "" {
		addr = svc.Address
	}
	canary := a.DeploymentStatus != nil && a.DeploymentStatus.Canary
	tags, meta := servedTags(svc, canary)
	id := RegistrationID(a.ID, in.Owner, svc.Name, svc.PortLabel)
	reg := &structs.ServiceRegistration{
		ID: id, ServiceName: svc.Name, Namespace: a.Namespace, NodeID: a.NodeID,
		Datacenter: in.Datacenter, JobID: a.JobID, AllocID: a.ID, Tags: slices.Clone(tags), Address: addr, Port: port,
		Provider: provider(svc), Meta: maps.Clone(meta), Canary: canary, TaskName: in.Owner.Task,
		Checks: initialChecks(id, svc.Checks),
	}
	reg.Health = structs.AggregateHealth(reg.Checks)
	task := in.Owner.Task
	if task == "" {
		task = svc.TaskName
	}
	return &Instance{Registration: reg, Service: svc, Task: task, Network: in.Network, Token: token(a, in.Owner, task)}, nil
}

// servedTags picks what an instance is registered with: while its
// allocation is a canary, canary_tags and canary_meta each replace tags and
// meta when set (Nomad's rule: replaced, not merged, so a canary can drop a
// stable tag such as "live"); otherwise, and once promoted, tags and meta.
func servedTags(svc *structs.Service, canary bool) ([]string, map[string]string) {
	tags, meta := svc.Tags, svc.Meta
	if canary && len(svc.CanaryTags) > 0 {
		tags = svc.CanaryTags
	}
	if canary && len(svc.CanaryMeta) > 0 {
		meta = svc.CanaryMeta
	}
	return tags, meta
}

// interpolated copies s with the fields a registration shows expanded.
func interpolated(s *structs.Service, interp func(string) string) *structs.Service {
	c := *s
	if interp == nil {
		interp = func(v string) string { return v }
	}
	c.Name = interp(s.Name)
	c.PortLabel = interp(s.PortLabel)
	c.Address = interp(s.Address)
	c.Tags = mapStrings(s.Tags, interp)
	c.CanaryTags = mapStrings(s.CanaryTags, interp)
	c.Meta = mapValues(s.Meta, interp)
	c.CanaryMeta = mapValues(s.CanaryMeta, interp)
	return &c
}

func mapStrings(in []string, f func(string) string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

func mapValues(in map[string]string, f func(string) string) map[string]string {
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = f(v)
	}
	return out
}

func provider(s *structs.Service) structs.ServiceProvider {
	if s.Provider == "" {
		return structs.ServiceProviderConsul
	}
	return s.Provider
}

// initialChecks lists the service's checks with their initial_status,
// critical by default (as Consul's): an instance is not sent traffic until
// its checks say so.
func initialChecks(regID string, checks []*structs.ServiceCheck) []*structs.ServiceCheckStatus {
	var out []*structs.ServiceCheckStatus
	for i, c := range checks {
		if c == nil {
			continue
		}
		st := structs.HealthCritical
		if h, err := structs.ParseHealthStatus(c.InitialStatus); err == nil {
			st = h
		}
		out = append(out, &structs.ServiceCheckStatus{ID: CheckID(regID, i), Name: c.Name, Type: c.Type, Status: st})
	}
	return out
}

// RegistrationID is the instance's deterministic ID (Nomad's scheme).
func RegistrationID(allocID string, o Owner, service, port string) string {
	if o.Task != "" {
		return fmt.Sprintf("_nomad-task-%s-%s-%s-%s", allocID, o.Task, service, port)
	}
	return fmt.Sprintf("_nomad-task-%s-group-%s-%s-%s", allocID, o.Group, service, port)
}

// CheckID is the ID of a service's i-th check (from 0).
func CheckID(regID string, i int) string { return regID + "-check-" + strconv.Itoa(i) }

// token picks the workload identity to register with: the owner task's, a
// group service's task's, or else any task's of the allocation (the
// servers check the allocation, not the task).
func token(a *structs.Allocation, o Owner, task string) string {
	if t := a.SignedIdentities[task]; t != "" {
		return t
	}
	for _, name := range slices.Sorted(maps.Keys(a.SignedIdentities)) {
		return a.SignedIdentities[name]
	}
	return ""
}
