package servicereg

import (
	"sync"
)

// Instances is an allocation's registered instances, published by the group
// and task services hooks and read by the check runner. Safe for concurrent
// use.
type Instances struct {
	mu      sync.Mutex
	byOwner map[Owner][]*Instance
	changed chan struct{}
}

// NewInstances returns an empty set.
func NewInstances() *Instances {
	return &Instances{byOwner: map[Owner][]*Instance{}, changed: make(chan struct{})}
}

// Put replaces an owner's instances (nil or empty removes them) and wakes
// the readers waiting on Changed.
func (s *Instances) Put(o Owner, insts []*Instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(insts) == 0 {
		if _, ok := s.byOwner[o]; !ok {
			return
		}
		delete(s.byOwner, o)
	} else {
		s.byOwner[o] = insts
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// Snapshot returns every registered instance, group services first, then
// tasks by name. The instances must not be modified.
func (s *Instances) Snapshot() []*Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	owners := make([]Owner, 0, len(s.byOwner))
	for o := range s.byOwner {
		owners = append(owners, o)
	}
	sortOwners(owners)
	var out []*Instance
	for _, o := range owners {
		out = append(out, s.byOwner[o]...)
	}
	return out
}

// Changed returns a channel closed at the next change: read it, then
// Snapshot, then wait on it.
func (s *Instances) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func sortOwners(o []Owner) {
	for i := 1; i < len(o); i++ {
		for j := i; j > 0 && less(o[j], o[j-1]); j-- {
			o[j], o[j-1] = o[j-1], o[j]
		}
	}
}

func less(a, b Owner) bool {
	if (a.Task == "") != (b.Task == "") {
		return a.Task == ""
	}
	return a.Task < b.Task
}
