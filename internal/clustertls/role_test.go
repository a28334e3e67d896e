package clustertls

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// bundleFor issues a certificate for names from ca and loads it with
// verify_server_hostname in region global.
func bundleFor(t *testing.T, ca PEMPair, names ...string) *Bundle {
	t.Helper()
	dir := t.TempDir()
	p, err := IssueCert(ca, CertRequest{Names: names, Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	b, err := Load(Config{CAFile: write("ca.pem", ca.Cert), CertFile: write("c.pem", p.Cert), KeyFile: write("k.pem", p.Key),
		VerifyServerHostname: true, Region: "global"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRolesOverRealHandshakes: a server's listener (ServerTLS) takes a
// dialer (DialTLS) by the names of its certificate: server and client
// names get their role, a CLI certificate and another region's server are
// refused at the handshake.
func TestRolesOverRealHandshakes(t *testing.T) {
	ca, err := NewCA(CARequest{Domain: "nomad", Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := bundleFor(t, ca, ServerName("global"))
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv.ServerTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const refused = Role(255) // the handshake failed
	roles := make(chan Role, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if err := c.(*tls.Conn).Handshake(); err != nil {
				roles <- refused
			} else {
				roles <- srv.PeerRole(c)
			}
			c.Close()
		}
	}()
	for _, tc := range []struct {
		names []string
		want  Role
	}{
		{[]string{ServerName("global"), "localhost"}, RoleServer},
		{[]string{ClientName("global"), "localhost"}, RoleClient},
		{[]string{"cli.global.nomad", "localhost"}, refused},
		{[]string{ServerName("eu")}, refused},
	} {
		b := bundleFor(t, ca, tc.names...)
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), b.DialTLS())
		if err == nil {
			// TLS 1.3: the client finishes first; the server's verdict
			// arrives on the first read.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, _ = c.Read(make([]byte, 1))
			c.Close()
		}
		if got := <-roles; got != tc.want {
			t.Fatalf("certificate for %v: role %s, want %s", tc.names, got, tc.want)
		}
	}
}

func TestParseMinVersion(t *testing.T) {
	for in, want := range map[string]uint16{"": tls.VersionTLS12, "tls12": tls.VersionTLS12, "tls13": tls.VersionTLS13} {
		if got, err := ParseMinVersion(in); err != nil || got != want {
			t.Errorf("%q: %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"tls10", "tls11", "ssl3", "1.2"} {
		if _, err := ParseMinVersion(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
