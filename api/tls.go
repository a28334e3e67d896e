package api

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strconv"
)

// Environment variables of the TLS settings; ROAM_* wins over NOMAD_*.
const (
	EnvCACert             = "ROAM_CACERT"
	EnvNomadCACert        = "NOMAD_CACERT"
	EnvClientCert         = "ROAM_CLIENT_CERT"
	EnvNomadClientCert    = "NOMAD_CLIENT_CERT"
	EnvClientKey          = "ROAM_CLIENT_KEY"
	EnvNomadClientKey     = "NOMAD_CLIENT_KEY"
	EnvTLSServerName      = "ROAM_TLS_SERVER_NAME"
	EnvNomadTLSServerName = "NOMAD_TLS_SERVER_NAME"
	EnvSkipVerify         = "ROAM_SKIP_VERIFY"
	EnvNomadSkipVerify    = "NOMAD_SKIP_VERIFY"
)

// TLSConfig is how the client checks an HTTPS agent and proves itself to
// one that asks for a client certificate (the agent's tls { http = true,
// verify_https_client = true }).
type TLSConfig struct {
	// CACert is a PEM file of the CA that signed the agent's certificate;
	// empty trusts the system's CAs.
	CACert string
	// ClientCert and ClientKey are a PEM certificate and key to present.
	ClientCert string
	ClientKey  string
	// ServerName is the name to check the agent's certificate against,
	// when the address is not one it carries (server.global.nomad).
	ServerName string
	// Insecure skips checking the agent's certificate.
	Insecure bool
}

// TLSFromEnv reads the TLS settings from the environment (getenv, or
// os.Getenv when nil), each from its ROAM_ name, else its NOMAD_ name.
func TLSFromEnv(getenv func(string) string) TLSConfig {
	skip, _ := strconv.ParseBool(FromEnv(getenv, EnvSkipVerify, EnvNomadSkipVerify))
	return TLSConfig{
		CACert:     FromEnv(getenv, EnvCACert, EnvNomadCACert),
		ClientCert: FromEnv(getenv, EnvClientCert, EnvNomadClientCert),
		ClientKey:  FromEnv(getenv, EnvClientKey, EnvNomadClientKey),
		ServerName: FromEnv(getenv, EnvTLSServerName, EnvNomadTLSServerName),
		Insecure:   skip,
	}
}

// empty reports whether t changes nothing from Go's defaults.
func (t *TLSConfig) empty() bool { return t == nil || *t == TLSConfig{} }

// clientConfig builds the crypto/tls configuration of t.
func (t *TLSConfig) clientConfig() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.Insecure}
	if t.CACert != "" {
		pem, err := os.ReadFile(t.CACert)
		if err != nil {
			return nil, fmt.Errorf("CA certificate: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA certificate %s: no PEM certificate in it", t.CACert)
		}
	}
	switch {
	case t.ClientCert != "" && t.ClientKey != "":
		pair, err := tls.LoadX509KeyPair(t.ClientCert, t.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	case t.ClientCert != "" || t.ClientKey != "":
		return nil, fmt.Errorf("client certificate and client key go together: set both")
	}
	return c, nil
}

// httpClientWithTLS is a client without a timeout whose transport uses t.
func httpClientWithTLS(t *TLSConfig) (*http.Client, error) {
	tc, err := t.clientConfig()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return &http.Client{Transport: tr}, nil
}
