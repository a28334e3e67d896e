package agent

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/internal/clustertls"
	"github.com/roam-sh/roam/internal/msgrpc"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// testCA is a cluster CA on disk that issues agent certificates.
type testCA struct {
	t    *testing.T
	dir  string
	pair clustertls.PEMPair
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	pair, err := clustertls.NewCA(clustertls.CARequest{Domain: "nomad", Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{t: t, dir: t.TempDir(), pair: pair}
	ca.write("ca.pem", pair.Cert)
	return ca
}

func (ca *testCA) write(name string, data []byte) string {
	p := filepath.Join(ca.dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		ca.t.Fatal(err)
	}
	return p
}

// issue writes a certificate for names (and 127.0.0.1) and its key, and
// returns a tls block using them with this CA.
func (ca *testCA) issue(file string, names ...string) TLSConfig {
	ca.t.Helper()
	p, err := clustertls.IssueCert(ca.pair, clustertls.CertRequest{
		Names: append(names, "localhost"), IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Validity: time.Hour,
	})
	if err != nil {
		ca.t.Fatal(err)
	}
	return TLSConfig{
		RPC: true, VerifyServerHostname: true, CAFile: filepath.Join(ca.dir, "ca.pem"),
		CertFile: ca.write(file+".pem", p.Cert), KeyFile: ca.write(file+"-key.pem", p.Key),
	}
}

// rpcPool is a pool dialling with the tls block's certificate, as an
// agent configured with it would.
func rpcPool(t *testing.T, tc TLSConfig) *msgrpc.Pool {
	t.Helper()
	b, err := clustertls.Load(clustertls.Config{CAFile: tc.CAFile, CertFile: tc.CertFile, KeyFile: tc.KeyFile,
		VerifyServerHostname: tc.VerifyServerHostname, Region: "global"})
	if err != nil {
		t.Fatal(err)
	}
	p := msgrpc.NewPool(testutil.Logger(t), msgrpc.WithTLS(b.DialTLS()))
	t.Cleanup(func() { p.Close() })
	return p
}

// tlsServerAgents starts n servers forming one cluster over mutual TLS.
func tlsServerAgents(t *testing.T, ca *testCA, n int) []*Agent {
	var agents []*Agent
	var join []string
	for i := range n {
		cfg := serverAgentConfig(t, "srv"+strconv.Itoa(i), n, join)
		cfg.TLS = ca.issue("srv"+strconv.Itoa(i), clustertls.ServerName("global"))
		agents = append(agents, startServerAgent(t, cfg))
		join = []string{agents[0].Server().LocalAddr()}
	}
	waitClusterLeader(t, agents...)
	return agents
}

// TestTLSClusterFormsAndReplicates: three servers with tls { rpc = true,
// http = true, verify_server_hostname = true, verify_https_client = true }
// elect a leader; a client agent with a client certificate registers; a
// job submitted over HTTPS to a follower (forwarded to the leader over
// TLS) runs on the client and every server's state has it (Raft over TLS);
// a server's HTTPS API forwards a file read to the client's HTTPS API.
func TestTLSClusterFormsAndReplicates(t *testing.T) {
	ca := newTestCA(t)
	withHTTPS := func(tc TLSConfig) TLSConfig {
		tc.HTTP, tc.VerifyHTTPSClient = true, true
		return tc
	}
	var servers []*Agent
	var join []string
	for i := range 3 {
		cfg := serverAgentConfig(t, "srv"+strconv.Itoa(i), 3, join)
		cfg.TLS = withHTTPS(ca.issue("srv"+strconv.Itoa(i), clustertls.ServerName("global")))
		servers = append(servers, startServerAgent(t, cfg))
		join = []string{servers[0].Server().LocalAddr()}
	}
	waitClusterLeader(t, servers...)
	clientTLS := withHTTPS(ca.issue("client", clustertls.ClientName("global")))
	client := testAgent(t, func(c *Config) {
		c.DevMode = false
		c.Server.Enabled = false
		c.Client.Servers = []string{servers[0].Server().LocalAddr()}
		c.TLS = clientTLS
	})
	https := func(a *Agent) *api.Client {
		c, err := api.NewClient(api.Config{Address: "https://" + a.HTTPAddr(), TLS: &api.TLSConfig{
			CACert: clientTLS.CAFile, ClientCert: clientTLS.CertFile, ClientKey: clientTLS.KeyFile}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var follower *Agent
	for _, s := range servers {
		if !s.Server().IsLeader() {
			follower = s
		}
	}
	alloc := runJob(t, https(follower), loggingJob("replicated", client.cfg.NodeName))
	plain := msgrpc.NewPool(testutil.Logger(t))
	defer plain.Close()
	testutil.WaitFor(t, 30*time.Second, func() error {
		for _, s := range servers {
			// The cluster really speaks TLS: plaintext is turned away.
			if err := plain.RPC(s.Server().LocalAddr(), structs.MethodStatusPing, &structs.GenericRequest{}, &struct{}{}); err == nil {
				t.Fatalf("%s answers plaintext", s.cfg.NodeName)
			}
			a, err := s.Server().State().AllocByID(nil, alloc.ID)
			if err != nil || a == nil || a.ClientStatus != structs.AllocClientStatusRunning {
				return fmt.Errorf("%s has not the running allocation yet (%v)", s.cfg.NodeName, err)
			}
		}
		return nil
	})
	// A server has no client: it forwards the read to the node, over HTTPS.
	rc, err := https(follower).AllocFS().Cat(alloc.ID, "web/local/file.txt", nil)
	if err != nil {
		t.Fatalf("file read forwarded to the client's HTTPS API: %v", err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if strings.TrimSpace(string(body)) != "data" {
		t.Fatalf("forwarded read: %q", body)
	}
}

// TestTLSForeignCAIsRefused: a server whose certificate another CA signed
// (with the right name) cannot join: its hellos fail the handshake, the
// cluster keeps one server, and its calls to any RPC fail.
func TestTLSForeignCAIsRefused(t *testing.T) {
	ca := newTestCA(t)
	logs := &testutil.SyncBuffer{}
	cfg := serverAgentConfig(t, "srv0", 1, nil)
	cfg.TLS = ca.issue("srv0", clustertls.ServerName("global"))
	a, err := New(cfg, capturingLogger(t, logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Shutdown() })
	waitClusterLeader(t, a)
	addr := a.Server().LocalAddr()

	other := newTestCA(t)
	rogueCfg := serverAgentConfig(t, "rogue", 2, []string{addr})
	rogueCfg.TLS = other.issue("rogue", clustertls.ServerName("global"))
	startServerAgent(t, rogueCfg)
	testutil.WaitFor(t, 30*time.Second, func() error {
		if !strings.Contains(logs.String(), "refused rpc connection: TLS handshake failed") {
			return errors.New("no refused handshake logged yet")
		}
		return nil
	})
	if n := raftServers(t, a); n != 1 {
		t.Fatalf("the cluster has %d servers after the rogue's hellos, want 1", n)
	}

	pool := rpcPool(t, rogueCfg.TLS)
	for _, m := range []string{structs.MethodStatusPing, structs.MethodMembershipHello} {
		var reply structs.ServerHello
		err := pool.RPC(addr, m, &structs.ServerHelloRequest{Hello: structs.ServerHello{ID: "rogue", Addr: "127.0.0.1:1"}}, &reply)
		var remote *msgrpc.RemoteError
		if err == nil || errors.As(err, &remote) {
			t.Fatalf("%s with a foreign CA's certificate: want a transport error, got %v", m, err)
		}
	}
}

// raftServers counts the servers in a's Raft configuration.
func raftServers(t *testing.T, a *Agent) int {
	t.Helper()
	var conf structs.RaftConfigurationResponse
	if err := a.rpc.RPC(structs.MethodOperatorRaftGetConfiguration, &structs.GenericRequest{}, &conf); err != nil {
		t.Fatal(err)
	}
	return len(conf.Servers)
}

// TestTLSClientCertCannotActAsServer: a client agent's certificate reaches
// the client RPCs but not Membership.Hello, AddServer nor Raft.
func TestTLSClientCertCannotActAsServer(t *testing.T) {
	ca := newTestCA(t)
	srv := tlsServerAgents(t, ca, 1)[0]
	addr := srv.Server().LocalAddr()
	clientTLS := ca.issue("client", clustertls.ClientName("global"))
	pool := rpcPool(t, clientTLS)

	if err := pool.RPC(addr, structs.MethodStatusPing, &structs.GenericRequest{}, &struct{}{}); err != nil {
		t.Fatalf("a client certificate pings: %v", err)
	}
	rogue := structs.ServerHello{ID: structs.GenerateUUID(), Addr: "127.0.0.1:1", Region: "global", BootstrapExpect: 1}
	for _, call := range []struct {
		method string
		args   any
		reply  any
	}{
		{structs.MethodMembershipHello, &structs.ServerHelloRequest{Hello: rogue}, &structs.ServerHello{}},
		{structs.MethodMembershipAddServer, &structs.ServerAddRequest{Hello: rogue}, &structs.GenericResponse{}},
	} {
		err := pool.RPC(addr, call.method, call.args, call.reply)
		if !errors.Is(err, structs.ErrPermissionDenied) {
			t.Fatalf("%s with a client certificate: want permission denied, got %v", call.method, err)
		}
	}
	if n := raftServers(t, srv); n != 1 {
		t.Fatalf("%d servers after the client's calls, want 1", n)
	}

	// Raft: the server closes the connection without reading it.
	b, err := clustertls.Load(clustertls.Config{CAFile: clientTLS.CAFile, CertFile: clientTLS.CertFile,
		KeyFile: clientTLS.KeyFile, VerifyServerHostname: true, Region: "global"})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := msgrpc.Dialer{Timeout: 5 * time.Second, TLS: b.DialTLS()}.Dial(addr, msgrpc.TypeRaft)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("raft connection with a client certificate: want it closed (EOF), got %v", err)
	}
}

// TestTLSPlaintextIsRefused: a caller without TLS cannot call the RPC port.
func TestTLSPlaintextIsRefused(t *testing.T) {
	ca := newTestCA(t)
	addr := tlsServerAgents(t, ca, 1)[0].Server().LocalAddr()
	pool := msgrpc.NewPool(testutil.Logger(t))
	defer pool.Close()
	err := pool.RPC(addr, structs.MethodStatusPing, &structs.GenericRequest{}, &struct{}{})
	var remote *msgrpc.RemoteError
	if err == nil || errors.As(err, &remote) {
		t.Fatalf("plaintext ping of a TLS port: want a transport error, got %v", err)
	}
}

// TestTLSConfigErrors: bad tls blocks stop the agent at start with the
// setting at fault named.
func TestTLSConfigErrors(t *testing.T) {
	ca := newTestCA(t)
	srvTLS := ca.issue("srv", clustertls.ServerName("global"))
	other := ca.issue("other", clustertls.ServerName("global"))
	clientTLS := ca.issue("client", clustertls.ClientName("global"))
	for _, tc := range []struct {
		name string
		mod  func(*TLSConfig)
		want string
	}{
		{"rpc without ca_file", func(c *TLSConfig) { c.CAFile = "" }, "tls.ca_file must be set"},
		{"missing cert file", func(c *TLSConfig) { c.CertFile = filepath.Join(ca.dir, "nope.pem") }, "tls.cert_file: stat"},
		{"missing key file", func(c *TLSConfig) { c.KeyFile = filepath.Join(ca.dir, "nope.pem") }, "tls.key_file: stat"},
		{"missing ca file", func(c *TLSConfig) { c.CAFile = filepath.Join(ca.dir, "nope.pem") }, "tls.ca_file: open"},
		{"key of another cert", func(c *TLSConfig) { c.KeyFile = other.KeyFile }, "tls.cert_file " + srvTLS.CertFile + " with tls.key_file"},
		{"cert of another CA", func(c *TLSConfig) { c.CAFile = newTestCA(t).write("ca.pem", newTestCA(t).pair.Cert) }, "is not signed by tls.ca_file"},
		{"server with a client cert", func(c *TLSConfig) { *c = clientTLS }, "must carry the name server.global.nomad"},
		{"old tls version", func(c *TLSConfig) { c.MinVersion = "tls10" }, "tls.tls_min_version"},
		{"unknown suite", func(c *TLSConfig) { c.CipherSuites = "TLS_RSA_WITH_RC4_128_SHA" }, "tls.tls_cipher_suites"},
		{"upgrade mode", func(c *TLSConfig) { c.RPCUpgradeMode = true }, "tls.rpc_upgrade_mode is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := serverAgentConfig(t, "srv", 1, nil)
			cfg.TLS = srvTLS
			tc.mod(&cfg.TLS)
			a, err := New(cfg, testutil.Logger(t))
			if err == nil {
				a.Shutdown()
				t.Fatal("agent started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// TestTLSWarnsWhenRPCIsPlaintext: a server agent outside -dev without
// tls.rpc says at start that its RPC port is unauthenticated; a -dev
// agent and a server with tls do not.
func TestTLSWarnsWhenRPCIsPlaintext(t *testing.T) {
	ca := newTestCA(t)
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		warn bool
	}{
		{"plaintext server", func(*Config) {}, true},
		{"dev agent", func(c *Config) { c.DevMode = true }, false},
		{"tls server", func(c *Config) { c.TLS = ca.issue("srv", clustertls.ServerName("global")) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &testutil.SyncBuffer{}
			cfg := serverAgentConfig(t, "srv", 1, nil)
			tc.mod(cfg)
			a, err := New(cfg, capturingLogger(t, logs))
			if err != nil {
				t.Fatal(err)
			}
			a.Shutdown()
			got := strings.Contains(logs.String(), "the RPC port is not authenticated")
			if got != tc.warn {
				t.Fatalf("warned %v, want %v; logs:\n%s", got, tc.warn, logs)
			}
		})
	}
}

// capturingLogger logs to the test and into logs.
func capturingLogger(t *testing.T, logs *testutil.SyncBuffer) *slog.Logger {
	return slog.New(teeHandler{testutil.Logger(t).Handler(), slog.NewTextHandler(logs, nil)})
}

// TestTLSBlockParses: a Nomad agent's tls block is read with its keys.
func TestTLSBlockParses(t *testing.T) {
	src := `
tls {
  http = true
  rpc  = true
  ca_file   = "/etc/roam.d/ca.pem"
  cert_file = "/etc/roam.d/server.pem"
  key_file  = "/etc/roam.d/server-key.pem"
  verify_server_hostname = true
  verify_https_client    = true
  tls_min_version        = "tls13"
}`
	fc, err := parseConfigFile("agent.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if err := cfg.merge(fc); err != nil {
		t.Fatal(err)
	}
	want := TLSConfig{HTTP: true, RPC: true, CAFile: "/etc/roam.d/ca.pem", CertFile: "/etc/roam.d/server.pem",
		KeyFile: "/etc/roam.d/server-key.pem", VerifyServerHostname: true, VerifyHTTPSClient: true, MinVersion: "tls13"}
	if cfg.TLS != want {
		t.Fatalf("tls block: got %+v, want %+v", cfg.TLS, want)
	}
	if _, err := parseConfigFile("agent.hcl", []byte(`tls { verify_incoming = true }`)); err == nil ||
		!strings.Contains(err.Error(), "agent.hcl:1") {
		t.Fatalf("unknown tls key: want a positioned error, got %v", err)
	}
}
