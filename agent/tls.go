package agent

import (
	"crypto/tls"
	"errors"
	"net"

	"github.com/roam-sh/roam/internal/clustertls"
)

// TLSConfig is the tls block, with Nomad's keys (docs/agent.md):
// rpc = true makes the RPC and Raft port mutual TLS against ca_file,
// http = true serves the HTTP API over HTTPS with the same certificate.
type TLSConfig struct {
	HTTP bool
	RPC  bool
	// CAFile, CertFile, KeyFile: the cluster CA and this agent's key pair
	// (PEM).
	CAFile   string
	CertFile string
	KeyFile  string
	// VerifyServerHostname checks the role names: a server's certificate
	// must carry server.<region>.nomad, a client's client.<region>.nomad.
	VerifyServerHostname bool
	// VerifyHTTPSClient makes the HTTPS API require a client certificate
	// signed by ca_file.
	VerifyHTTPSClient bool
	// MinVersion is tls_min_version: tls12 (default) or tls13.
	MinVersion string
	// CipherSuites is tls_cipher_suites, comma-separated Go suite names.
	CipherSuites string
	// RPCUpgradeMode (rpc_upgrade_mode) would take plaintext and TLS at
	// once; roam refuses it rather than accept and ignore it.
	RPCUpgradeMode bool
}

type fileTLS struct {
	HTTP                 *bool   `hcl:"http,optional"`
	RPC                  *bool   `hcl:"rpc,optional"`
	CAFile               *string `hcl:"ca_file,optional"`
	CertFile             *string `hcl:"cert_file,optional"`
	KeyFile              *string `hcl:"key_file,optional"`
	VerifyServerHostname *bool   `hcl:"verify_server_hostname,optional"`
	VerifyHTTPSClient    *bool   `hcl:"verify_https_client,optional"`
	MinVersion           *string `hcl:"tls_min_version,optional"`
	CipherSuites         *string `hcl:"tls_cipher_suites,optional"`
	RPCUpgradeMode       *bool   `hcl:"rpc_upgrade_mode,optional"`
}

// merge lays a file's tls block over t.
func (t *TLSConfig) merge(f *fileTLS) {
	if f == nil {
		return
	}
	setBool(&t.HTTP, f.HTTP)
	setBool(&t.RPC, f.RPC)
	setStr(&t.CAFile, f.CAFile)
	setStr(&t.CertFile, f.CertFile)
	setStr(&t.KeyFile, f.KeyFile)
	setBool(&t.VerifyServerHostname, f.VerifyServerHostname)
	setBool(&t.VerifyHTTPSClient, f.VerifyHTTPSClient)
	setStr(&t.MinVersion, f.MinVersion)
	setStr(&t.CipherSuites, f.CipherSuites)
	setBool(&t.RPCUpgradeMode, f.RPCUpgradeMode)
}

// validate reports what is wrong without reading the files (start-up reads
// them, loadTLS).
func (t *TLSConfig) validate() []error {
	var errs []error
	if t.RPC && t.CAFile == "" {
		errs = append(errs, errors.New("tls.ca_file must be set when tls.rpc is true: peers are checked against it"))
	}
	if t.HTTP && !t.RPC && t.CAFile == "" {
		errs = append(errs, errors.New("tls.ca_file must be set when tls.http is true: it checks the agents a server forwards to (and HTTPS clients with verify_https_client)"))
	}
	if t.RPC || t.HTTP {
		if t.CertFile == "" {
			errs = append(errs, errors.New("tls.cert_file must be set when tls.rpc or tls.http is true"))
		}
		if t.KeyFile == "" {
			errs = append(errs, errors.New("tls.key_file must be set when tls.rpc or tls.http is true"))
		}
	}
	if t.RPCUpgradeMode {
		errs = append(errs, errors.New("tls.rpc_upgrade_mode is not supported: a roam RPC port is either all TLS or all plaintext; "+
			"turn tls.rpc on on every agent at once (docs/cluster.md)"))
	}
	if _, err := clustertls.ParseMinVersion(t.MinVersion); err != nil {
		errs = append(errs, err)
	}
	if _, err := clustertls.ParseCipherSuites(t.CipherSuites); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// loadTLS reads the tls block's files when rpc or http is on, and checks
// that this agent's own certificate is one its peers would accept.
func (a *Agent) loadTLS() error {
	t := a.cfg.TLS
	if !t.RPC && !t.HTTP {
		a.warnUnauthenticatedRPC()
		return nil
	}
	minV, _ := clustertls.ParseMinVersion(t.MinVersion)
	suites, _ := clustertls.ParseCipherSuites(t.CipherSuites)
	b, err := clustertls.Load(clustertls.Config{
		CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile,
		VerifyServerHostname: t.VerifyServerHostname, VerifyHTTPSClient: t.VerifyHTTPSClient,
		Region: a.cfg.Region, MinVersion: minV, CipherSuites: suites,
	})
	if err != nil {
		return err
	}
	if t.RPC {
		if err := b.CheckOwnRole(a.cfg.Server.Enabled); err != nil {
			return err
		}
	}
	a.tls = b
	a.warnUnauthenticatedRPC()
	if t.HTTP && a.cfg.Client.Enabled {
		a.logger.Warn("tls.http is on: tasks' templates that read the catalog, variables or Nomad data, and Connect sidecars, " +
			"reach this agent's API over plain HTTP and fail against HTTPS (not built yet, docs/agent.md)")
	}
	if t.RPC && !t.VerifyServerHostname {
		a.logger.Warn("tls.verify_server_hostname is off: any certificate tls.ca_file signed, a client agent's included, "+
			"is accepted as a server's (it may join the cluster and receive its keys); set verify_server_hostname = true",
			"ca_file", t.CAFile)
	}
	return nil
}

// errUnauthenticatedRPC is logged by a server agent outside -dev whose RPC
// port is plaintext: nothing checks who joins the cluster.
var errUnauthenticatedRPC = errors.New("the RPC port is not authenticated (no tls { rpc = true }): anything that reaches it " +
	"can join this cluster as a server and receive its keys (Connect CA, workload identity, variables); " +
	"configure the tls block (docs/cluster.md, \"Mutual TLS\") or firewall the port to the cluster's machines")

func (a *Agent) warnUnauthenticatedRPC() {
	if a.cfg.Server.Enabled && !a.cfg.DevMode && !a.cfg.TLS.RPC {
		a.logger.Warn(errUnauthenticatedRPC.Error(), "rpc_port", a.cfg.Ports.RPC)
	}
}

// rpcTLS is the server's RPC bundle, nil without tls.rpc.
func (a *Agent) rpcTLS() *clustertls.Bundle {
	if !a.cfg.TLS.RPC {
		return nil
	}
	return a.tls
}

// rpcDialTLS is how this agent's client dials servers, nil without tls.rpc.
func (a *Agent) rpcDialTLS() *tls.Config {
	if b := a.rpcTLS(); b != nil {
		return b.DialTLS()
	}
	return nil
}

// httpsListener wraps the HTTP listener in TLS when tls.http is on.
func (a *Agent) httpsListener(ln net.Listener) net.Listener {
	if !a.cfg.TLS.HTTP {
		return ln
	}
	return tls.NewListener(ln, a.tls.HTTPTLS())
}

// httpScheme is the scheme of this agent's HTTP API.
func (a *Agent) httpScheme() string {
	if a.cfg.TLS.HTTP {
		return "https"
	}
	return "http"
}

// forwardTLS is how this agent reaches other agents' HTTPS APIs (a server
// forwarding /v1/client/ to a node), nil when its own API is plaintext:
// all agents of a cluster share the http setting.
func (a *Agent) forwardTLS() *tls.Config {
	if !a.cfg.TLS.HTTP {
		return nil
	}
	return a.tls.HTTPClientTLS()
}
