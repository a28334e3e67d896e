package taskenv

import "strings"

// CleanEnvVar replaces every byte of s that may not appear in an environment
// variable name with r: letters, '_' and '.' stay, digits stay unless first.
func CleanEnvVar(s string, r byte) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c == '_', c == '.', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && '0' <= c && c <= '9':
		default:
			b[i] = r
		}
	}
	return string(b)
}

// cleanedPrefixes are the variable prefixes whose keys are cleaned after the
// environment is built; other prefixes (NOMAD_HOST_IP_, NOMAD_ALLOC_*) are
// left as they are, as Nomad does.
var cleanedPrefixes = []string{"NOMAD_ADDR_", "NOMAD_IP_", "NOMAD_PORT_", "NOMAD_HOST_PORT_", "NOMAD_META_"}

func cleanKey(k string) string {
	for _, p := range cleanedPrefixes {
		if strings.HasPrefix(k, p) {
			return CleanEnvVar(k, '_')
		}
	}
	return k
}

// DefaultEnvDenylist is the client env.denylist default: host variables that
// carry credentials (or name the files that hold them) and are never passed
// to tasks. An entry ending in '*' denies every variable it is a prefix of.
// Nomad's own default is included, then what roam and the Nomad, Consul and
// Vault command lines read a secret from; docs/security.md lists what
// passes.
func DefaultEnvDenylist() []string {
	return []string{
		// roam's own: its CLI's token and TLS key (ROAM_TOKEN,
		// ROAM_CLIENT_KEY) and every agent setting; a task gets what it
		// needs from roam explicitly (NOMAD_* task variables).
		"ROAM_*",
		// Nomad's default list.
		"CONSUL_TOKEN", "CONSUL_HTTP_TOKEN", "CONSUL_HTTP_TOKEN_FILE", "NOMAD_TOKEN", "VAULT_TOKEN",
		"CONSUL_LICENSE", "NOMAD_LICENSE", "VAULT_LICENSE",
		"CONSUL_LICENSE_PATH", "NOMAD_LICENSE_PATH", "VAULT_LICENSE_PATH",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_METADATA_URL",
		"GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_OAUTH_ACCESS_TOKEN",
		// What else the Nomad, Consul and Vault CLIs read a credential
		// from: basic auth, client TLS keys, the client intro token.
		"NOMAD_HTTP_AUTH", "NOMAD_CLIENT_KEY", "NOMAD_CLIENT_INTRO_TOKEN",
		"CONSUL_HTTP_AUTH", "CONSUL_CLIENT_KEY",
		"VAULT_CLIENT_KEY",
	}
}

// envDenylist is a deny list ready to match: exact names, and the prefixes
// of the entries that end in '*'.
type envDenylist struct {
	names    map[string]bool
	prefixes []string
}

func newEnvDenylist(entries []string) envDenylist {
	d := envDenylist{names: make(map[string]bool, len(entries))}
	for _, e := range entries {
		if p, ok := strings.CutSuffix(e, "*"); ok {
			d.prefixes = append(d.prefixes, p)
			continue
		}
		d.names[e] = true
	}
	return d
}

// denies reports whether the variable k may not pass to a task.
func (d envDenylist) denies(k string) bool {
	if d.names[k] {
		return true
	}
	for _, p := range d.prefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}
