package taskenv

import (
	"maps"
	"slices"
)

// TaskEnv is a built task environment. It is immutable once built.
type TaskEnv struct {
	// env is what the task sees; clientEnv is the same with host paths for the
	// task directories, for interpolation done by the client itself
	// (template and artifact destinations).
	env       map[string]string
	clientEnv map[string]string
	// nodeAttrs resolve node.*, attr.* and meta.* references.
	nodeAttrs map[string]string
}

// Map returns a copy of the task's environment.
func (e *TaskEnv) Map() map[string]string { return maps.Clone(e.env) }

// ClientMap returns a copy of the environment with host paths.
func (e *TaskEnv) ClientMap() map[string]string { return maps.Clone(e.clientEnv) }

// NodeAttrs returns a copy of the node attributes used for interpolation.
func (e *TaskEnv) NodeAttrs() map[string]string { return maps.Clone(e.nodeAttrs) }

// Get returns one variable of the task's environment.
func (e *TaskEnv) Get(k string) (string, bool) {
	v, ok := e.env[k]
	return v, ok
}

// List returns the environment as sorted "K=V" strings.
func (e *TaskEnv) List() []string {
	out := make([]string, 0, len(e.env))
	for _, k := range slices.Sorted(maps.Keys(e.env)) {
		out = append(out, k+"="+e.env[k])
	}
	return out
}

// Interpolate replaces ${...} references in s; unknown ones stay literal.
func (e *TaskEnv) Interpolate(s string) string { return interpolate(s, e.env, e.nodeAttrs) }

// InterpolateClient is Interpolate with host paths for the task directories.
func (e *TaskEnv) InterpolateClient(s string) string {
	return interpolate(s, e.clientEnv, e.nodeAttrs)
}

// InterpolateMap interpolates the values of m into a new map.
func (e *TaskEnv) InterpolateMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = e.Interpolate(v)
	}
	return out
}

// InterpolateConfig interpolates every string (keys included) of a driver
// config, however deeply nested, into a new value.
func (e *TaskEnv) InterpolateConfig(cfg map[string]any) map[string]any {
	if cfg == nil {
		return nil
	}
	out := make(map[string]any, len(cfg))
	for k, v := range cfg {
		out[e.Interpolate(k)] = e.interpolateAny(v)
	}
	return out
}

func (e *TaskEnv) interpolateAny(v any) any {
	switch t := v.(type) {
	case string:
		return e.Interpolate(t)
	case map[string]any:
		return e.InterpolateConfig(t)
	case map[string]string:
		return e.InterpolateMap(t)
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = e.interpolateAny(x)
		}
		return out
	case []string:
		out := make([]string, len(t))
		for i, x := range t {
			out[i] = e.Interpolate(x)
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(t))
		for i, x := range t {
			out[i] = e.InterpolateConfig(x)
		}
		return out
	}
	return v
}
