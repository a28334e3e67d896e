package clustertls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Config is the agent's tls block, with the agent's region.
type Config struct {
	// CAFile holds the PEM certificates of the cluster CA; peers must
	// present a certificate it signed.
	CAFile string
	// CertFile and KeyFile are this agent's PEM certificate (and any
	// intermediates) and its private key.
	CertFile string
	KeyFile  string
	// VerifyServerHostname checks the role names (see the package doc).
	VerifyServerHostname bool
	// VerifyHTTPSClient makes the HTTPS API require a client certificate
	// signed by the CA.
	VerifyHTTPSClient bool
	// Region is the agent's region, the middle of the role names.
	Region string
	// MinVersion is tls.VersionTLS12 (the default, 0) or tls.VersionTLS13.
	MinVersion uint16
	// CipherSuites restricts the TLS 1.2 suites (TLS 1.3's are fixed);
	// nil keeps Go's defaults.
	CipherSuites []uint16
}

// Bundle is a loaded Config: the CA pool and this agent's key pair.
type Bundle struct {
	cfg  Config
	ca   *x509.CertPool
	cert tls.Certificate
	leaf *x509.Certificate
}

// Load reads and checks the files: the CA parses, the key matches the
// certificate and the CA signed the certificate. Each error names the
// setting at fault (tls.ca_file, tls.cert_file, tls.key_file).
func Load(cfg Config) (*Bundle, error) {
	var errs []error
	for _, f := range []struct{ key, val string }{
		{"tls.ca_file", cfg.CAFile}, {"tls.cert_file", cfg.CertFile}, {"tls.key_file", cfg.KeyFile},
	} {
		if f.val == "" {
			errs = append(errs, fmt.Errorf("%s must be set", f.key))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	b := &Bundle{cfg: cfg}
	if err := b.loadCA(); err != nil {
		return nil, err
	}
	if err := b.loadCert(); err != nil {
		return nil, err
	}
	if cfg.MinVersion == 0 {
		b.cfg.MinVersion = tls.VersionTLS12
	}
	return b, nil
}

func (b *Bundle) loadCA() error {
	pem, err := os.ReadFile(b.cfg.CAFile)
	if err != nil {
		return fmt.Errorf("tls.ca_file: %w", err)
	}
	b.ca = x509.NewCertPool()
	if !b.ca.AppendCertsFromPEM(pem) {
		return fmt.Errorf("tls.ca_file %s: no PEM certificate in it", b.cfg.CAFile)
	}
	return nil
}

func (b *Bundle) loadCert() error {
	for _, f := range []struct{ key, path string }{{"tls.cert_file", b.cfg.CertFile}, {"tls.key_file", b.cfg.KeyFile}} {
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("%s: %w", f.key, err)
		}
	}
	cert, err := tls.LoadX509KeyPair(b.cfg.CertFile, b.cfg.KeyFile)
	if err != nil {
		return fmt.Errorf("tls.cert_file %s with tls.key_file %s: %w", b.cfg.CertFile, b.cfg.KeyFile, err)
	}
	b.cert, b.leaf = cert, cert.Leaf
	inter := x509.NewCertPool()
	for _, der := range cert.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(c)
		}
	}
	if _, err := b.leaf.Verify(x509.VerifyOptions{Roots: b.ca, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return fmt.Errorf("tls.cert_file %s is not signed by tls.ca_file %s: %w", b.cfg.CertFile, b.cfg.CAFile, err)
	}
	return nil
}

// OwnRole is the role this agent's own certificate gives it.
func (b *Bundle) OwnRole() Role {
	if !b.cfg.VerifyServerHostname {
		return RoleServer
	}
	return roleOf(b.leaf, b.cfg.Region)
}

// CheckOwnRole refuses a certificate that peers would refuse: with
// verify_server_hostname, a server's must carry server.<region>.nomad, a
// client agent's client.<region>.nomad (or the server name).
func (b *Bundle) CheckOwnRole(server bool) error {
	if !b.cfg.VerifyServerHostname {
		return nil
	}
	switch got := b.OwnRole(); {
	case server && got != RoleServer:
		return fmt.Errorf("tls.cert_file %s: a server's certificate must carry the name %s (verify_server_hostname); it has %s",
			b.cfg.CertFile, ServerName(b.cfg.Region), names(b.leaf))
	case !server && got == RoleNone:
		return fmt.Errorf("tls.cert_file %s: a client's certificate must carry the name %s (verify_server_hostname); it has %s",
			b.cfg.CertFile, ClientName(b.cfg.Region), names(b.leaf))
	}
	return nil
}

func names(c *x509.Certificate) string {
	if len(c.DNSNames) == 0 {
		return "no DNS name"
	}
	return strings.Join(c.DNSNames, ", ")
}

// base is what every configuration here shares: this agent's key pair,
// the minimum version and the suites.
func (b *Bundle) base() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{b.cert},
		MinVersion:   b.cfg.MinVersion,
		CipherSuites: b.cfg.CipherSuites,
	}
}

// ServerTLS is the configuration of the RPC port's listener: the peer
// must present a certificate the CA signed and, with verify_server_hostname,
// one that carries a role name; anything else fails the handshake.
func (b *Bundle) ServerTLS() *tls.Config {
	c := b.base()
	c.ClientAuth = tls.RequireAndVerifyClientCert
	c.ClientCAs = b.ca
	if b.cfg.VerifyServerHostname {
		c.VerifyConnection = func(st tls.ConnectionState) error {
			if roleOf(st.PeerCertificates[0], b.cfg.Region) == RoleNone {
				return fmt.Errorf("peer certificate carries neither %s nor %s (it has %s)",
					ServerName(b.cfg.Region), ClientName(b.cfg.Region), names(st.PeerCertificates[0]))
			}
			return nil
		}
	}
	return c
}

// DialTLS is the configuration of connections to servers' RPC ports, from
// servers and clients alike: the server must present a certificate the CA
// signed and, with verify_server_hostname, the server name of the region.
func (b *Bundle) DialTLS() *tls.Config {
	c := b.base()
	c.RootCAs = b.ca
	if b.cfg.VerifyServerHostname {
		c.ServerName = ServerName(b.cfg.Region)
		return c
	}
	// Nomad's behaviour without verify_server_hostname: the chain is
	// checked, the name is not (servers are dialled by address).
	c.InsecureSkipVerify = true
	c.VerifyConnection = func(st tls.ConnectionState) error {
		return b.verifyChain(st.PeerCertificates)
	}
	return c
}

// verifyChain checks that the CA signed the leaf of certs.
func (b *Bundle) verifyChain(certs []*x509.Certificate) error {
	if len(certs) == 0 {
		return errors.New("peer presented no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: b.ca, Intermediates: inter})
	return err
}

// HTTPTLS is the configuration of the HTTPS API: this agent's certificate
// and, with verify_https_client, a required client certificate the CA
// signed.
func (b *Bundle) HTTPTLS() *tls.Config {
	c := b.base()
	if b.cfg.VerifyHTTPSClient {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = b.ca
	}
	return c
}

// HTTPClientTLS is the configuration of this agent's requests to other
// agents' HTTPS APIs (a server forwarding /v1/client/ to a node): this
// agent's certificate is offered and the other's must be signed by the CA.
// Its name is not checked: agents are reached at the address their node
// registered, which their certificates need not carry.
func (b *Bundle) HTTPClientTLS() *tls.Config {
	c := b.base()
	c.InsecureSkipVerify = true
	c.VerifyConnection = func(st tls.ConnectionState) error {
		return b.verifyChain(st.PeerCertificates)
	}
	return c
}

// ParseMinVersion reads tls_min_version: "" or "tls12" (the default),
// "tls13". Older versions are refused.
func ParseMinVersion(s string) (uint16, error) {
	switch s {
	case "", "tls12":
		return tls.VersionTLS12, nil
	case "tls13":
		return tls.VersionTLS13, nil
	case "tls10", "tls11":
		return 0, fmt.Errorf("tls.tls_min_version %q: roam speaks TLS 1.2 and 1.3 only; want tls12 or tls13", s)
	}
	return 0, fmt.Errorf("tls.tls_min_version %q: want tls12 or tls13", s)
}

// ParseCipherSuites reads tls_cipher_suites, a comma-separated list of
// suite names ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,..."). Only Go's
// secure suites are accepted; "" keeps the defaults.
func ParseCipherSuites(s string) ([]uint16, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	known := map[string]uint16{}
	for _, cs := range tls.CipherSuites() {
		known[cs.Name] = cs.ID
	}
	var ids []uint16
	var bad []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		id, ok := known[name]
		if !ok {
			bad = append(bad, name)
			continue
		}
		ids = append(ids, id)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("tls.tls_cipher_suites: unknown or insecure suites %s", strings.Join(bad, ", "))
	}
	return ids, nil
}
