package apitest

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roam-sh/roam/agent"
	"github.com/roam-sh/roam/internal/clustertls"
)

// TLSFiles are a cluster CA and an agent's and a user's certificates on
// disk, as `roam tls` writes them.
type TLSFiles struct {
	CA                  string
	AgentCert, AgentKey string
	UserCert, UserKey   string
}

// WriteTLS writes a CA, a server certificate for the global region (with
// localhost and 127.0.0.1, so that an HTTPS client reaching 127.0.0.1
// accepts it) and a CLI user's certificate into a temp dir.
func WriteTLS(t testing.TB) TLSFiles {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca, err := clustertls.NewCA(clustertls.CARequest{Domain: "nomad", Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f := TLSFiles{CA: write("ca.pem", ca.Cert)}
	issue := func(names ...string) (string, string) {
		p, err := clustertls.IssueCert(ca, clustertls.CertRequest{Names: names, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Validity: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return write(names[0]+".pem", p.Cert), write(names[0]+"-key.pem", p.Key)
	}
	f.AgentCert, f.AgentKey = issue(clustertls.ServerName("global"), "localhost")
	f.UserCert, f.UserKey = issue("cli.global.nomad", "localhost")
	return f
}

// AgentTLS is the tls block of an agent using f: RPC and HTTPS, client
// certificates required on both.
func (f TLSFiles) AgentTLS() agent.TLSConfig {
	return agent.TLSConfig{HTTP: true, RPC: true, CAFile: f.CA, CertFile: f.AgentCert, KeyFile: f.AgentKey,
		VerifyServerHostname: true, VerifyHTTPSClient: true}
}

// WithTLS sets AgentTLS on an agent's configuration (StartLiveAgent's
// mod), for tests whose part may not import agent.
func (f TLSFiles) WithTLS(c *agent.Config) { c.TLS = f.AgentTLS() }
