package scheduler

// classVerdict is the cached outcome of class-level checks for one computed
// node class. reason is the first failed check, so that nodes skipped by the
// cache are reported under the same constraint as the first one.
type classVerdict struct {
	known, ok bool
	reason    string
}

// eligibility caches, per computed node class, whether the job's and each
// group's class-level constraints hold. Nodes with the same computed class
// have the same attributes, meta, class, datacenter and pool, so one check
// answers for all of them. Constraints on unique.* values and distinct_*
// escape the cache; that is remembered for blocked evaluations, which must
// then be retried on any node change rather than only on eligible classes.
type eligibility struct {
	job    map[string]classVerdict
	groups map[string]map[string]classVerdict
	// escaped is set when some check could not be cached by class.
	escaped bool
}

func newEligibility() *eligibility {
	return &eligibility{job: map[string]classVerdict{}, groups: map[string]map[string]classVerdict{}}
}

func (e *eligibility) group(name string) map[string]classVerdict {
	m := e.groups[name]
	if m == nil {
		m = map[string]classVerdict{}
		e.groups[name] = m
	}
	return m
}

// classes summarises the cache for a blocked evaluation: a class maps to
// false when the job, or every group checked on it, can never run there, and
// to true when some group could.
func (e *eligibility) classes() map[string]bool {
	out := map[string]bool{}
	for class, v := range e.job {
		if v.known {
			out[class] = v.ok
		}
	}
	known, ok := map[string]bool{}, map[string]bool{}
	for _, m := range e.groups {
		for class, v := range m {
			if v.known {
				known[class] = true
				ok[class] = ok[class] || v.ok
			}
		}
	}
	for class := range known {
		if jv := e.job[class]; jv.known && !jv.ok {
			continue
		}
		out[class] = ok[class]
	}
	return out
}
