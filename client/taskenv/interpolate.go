package taskenv

import "strings"

// interpolate replaces each ${ref} in s whose ref resolves; references that
// do not resolve are left exactly as written, so a later stage (or the task)
// still sees them.
//
// A ref is a variable name looked up in env then in node attributes
// ("NOMAD_ALLOC_ID", "attr.kernel.name", "node.unique.id", "meta.rack"), or
// env["NAME"] / env['NAME'] for names HCL cannot spell.
func interpolate(s string, env, node map[string]string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i+2:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		ref := s[i+2 : i+2+j]
		if v, ok := lookup(strings.TrimSpace(ref), env, node); ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i : i+3+j])
		}
		s = s[i+3+j:]
	}
}

func lookup(ref string, env, node map[string]string) (string, bool) {
	if name, ok := envIndex(ref); ok {
		v, ok := env[name]
		return v, ok
	}
	if v, ok := env[ref]; ok {
		return v, true
	}
	v, ok := node[ref]
	return v, ok
}

// envIndex parses env["NAME"] and env['NAME'].
func envIndex(ref string) (string, bool) {
	rest, ok := strings.CutPrefix(ref, "env[")
	if !ok || !strings.HasSuffix(rest, "]") {
		return "", false
	}
	q := strings.TrimSpace(strings.TrimSuffix(rest, "]"))
	if len(q) < 2 || (q[0] != '"' && q[0] != '\'') || q[len(q)-1] != q[0] {
		return "", false
	}
	return q[1 : len(q)-1], true
}
