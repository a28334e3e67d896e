package drivers

import (
	"fmt"
)

// Registry holds the drivers a client runs, in the order they were added (the
// order they are fingerprinted and listed in). It is built once, explicitly,
// by whoever owns the client; it is read-only afterwards.
type Registry struct {
	order  []string
	byName map[string]Driver
}

// NewRegistry returns a registry of ds; two drivers with one name is an error.
func NewRegistry(ds ...Driver) (*Registry, error) {
	r := &Registry{byName: make(map[string]Driver, len(ds))}
	for _, d := range ds {
		name := d.Name()
		if _, dup := r.byName[name]; dup {
			return nil, fmt.Errorf("driver %q registered twice", name)
		}
		r.byName[name] = d
		r.order = append(r.order, name)
	}
	return r, nil
}

// Get returns the named driver.
func (r *Registry) Get(name string) (Driver, bool) {
	d, ok := r.byName[name]
	return d, ok
}

// All returns the drivers in registration order.
func (r *Registry) All() []Driver {
	out := make([]Driver, 0, len(r.order))
	for _, n := range r.order {
		out = append(out, r.byName[n])
	}
	return out
}
