package cli_test

import (
	"strings"
	"testing"

	"github.com/roam-sh/roam/internal/apitest"
)

// TestTLSHTTPSAgent: an agent with tls { http = true, verify_https_client
// = true } serves its API over HTTPS only, and the CLI reaches it with the
// CA and a client certificate from flags, ROAM_* or NOMAD_* variables.
func TestTLSHTTPSAgent(t *testing.T) {
	files := apitest.WriteTLS(t)
	la := apitest.StartLiveAgent(t, files.WithTLS)
	if !strings.HasPrefix(la.URL, "https://") {
		t.Fatalf("agent URL %s", la.URL)
	}
	plainURL := "http://" + strings.TrimPrefix(la.URL, "https://")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		ok   bool
		want string // in stderr when it fails
	}{
		{"ROAM variables", map[string]string{"ROAM_ADDR": la.URL, "ROAM_CACERT": files.CA,
			"ROAM_CLIENT_CERT": files.UserCert, "ROAM_CLIENT_KEY": files.UserKey}, nil, true, ""},
		{"NOMAD variables", map[string]string{"NOMAD_ADDR": la.URL, "NOMAD_CACERT": files.CA,
			"NOMAD_CLIENT_CERT": files.UserCert, "NOMAD_CLIENT_KEY": files.UserKey}, nil, true, ""},
		{"flags", nil, []string{"-address", la.URL, "-ca-cert", files.CA,
			"-client-cert", files.UserCert, "-client-key", files.UserKey}, true, ""},
		{"no CA", map[string]string{"ROAM_ADDR": la.URL, "ROAM_CLIENT_CERT": files.UserCert,
			"ROAM_CLIENT_KEY": files.UserKey}, nil, false, "certificate"},
		{"no client certificate", map[string]string{"ROAM_ADDR": la.URL, "ROAM_CACERT": files.CA}, nil, false, "certificate"},
		{"plain HTTP", map[string]string{"ROAM_ADDR": plainURL, "ROAM_CACERT": files.CA,
			"ROAM_CLIENT_CERT": files.UserCert, "ROAM_CLIENT_KEY": files.UserKey}, nil, false, "HTTP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.env, append(tc.args, "server", "members")...)
			if tc.ok {
				if r.code != 0 || !strings.Contains(r.stdout, "alive") {
					t.Fatalf("server members over HTTPS: %s", r)
				}
				return
			}
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("want a failure mentioning %q: %s", tc.want, r)
			}
		})
	}
}
