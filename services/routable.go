package services

import "github.com/roam-sh/roam/structs"

// Routable reports whether traffic may be sent to an instance: every instance
// but a critical one. Warning instances are served, as Consul's DNS serves
// them; passing-only readers (?passing) use Passing instead.
func Routable(r *structs.ServiceRegistration) bool {
	return r.Health.Normalize() != structs.HealthCritical
}

// Passing reports whether every check of the instance passes.
func Passing(r *structs.ServiceRegistration) bool {
	return r.Health.Normalize() == structs.HealthPassing
}

// Routables returns the routable instances, in their order. The slice is
// new; the instances are shared.
func Routables(regs []*structs.ServiceRegistration) []*structs.ServiceRegistration {
	return Select(regs, Routable)
}

// Select returns the instances keep accepts, in their order.
func Select(regs []*structs.ServiceRegistration, keep func(*structs.ServiceRegistration) bool) []*structs.ServiceRegistration {
	out := make([]*structs.ServiceRegistration, 0, len(regs))
	for _, r := range regs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}
