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
// carry credentials and are never passed to tasks.
func DefaultEnvDenylist() []string {
	return []string{
		"CONSUL_TOKEN", "CONSUL_HTTP_TOKEN", "CONSUL_HTTP_TOKEN_FILE", "NOMAD_TOKEN", "VAULT_TOKEN",
		"CONSUL_LICENSE", "NOMAD_LICENSE", "VAULT_LICENSE",
		"CONSUL_LICENSE_PATH", "NOMAD_LICENSE_PATH", "VAULT_LICENSE_PATH",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_METADATA_URL",
		"GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_OAUTH_ACCESS_TOKEN",
	}
}
