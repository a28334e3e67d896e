package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
	"github.com/roam-sh/roam/structs"
)

// meshAgent answers the local agent endpoints `roam connect proxy` reads
// (roots, its leaf, authorize, the destination's healthy sidecars), in
// their Consul shapes, with certificates from mesh/ca. It stands in for a
// client agent so that the benchmark measures the proxies, not scheduling;
// the proxies fetch from it exactly as they do from a real agent.
type meshAgent struct {
	root   *structs.CARoot
	domain string
	// destPort is the destination proxy's public port, the one instance
	// of <dest>-sidecar-proxy.
	destPort int
	srv      *http.Server
	ln       net.Listener
}

func startMeshAgent(destPort int) (*meshAgent, error) {
	domain := structs.GenerateUUID() + ca.TrustDomainSuffix
	root, err := ca.NewRoot(domain, time.Now(), ca.DefaultConfig())
	if err != nil {
		return nil, fmt.Errorf("mesh CA root: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &meshAgent{root: root, domain: domain, destPort: destPort, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/agent/connect/ca/roots", a.roots)
	mux.HandleFunc("GET /v1/agent/connect/ca/leaf/{service}", a.leaf)
	mux.HandleFunc("POST /v1/agent/connect/authorize", a.authorize)
	mux.HandleFunc("GET /v1/health/service/{service}", a.health)
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go a.srv.Serve(ln)
	return a, nil
}

func (a *meshAgent) addr() string { return a.ln.Addr().String() }
func (a *meshAgent) close()       { a.srv.Close() }

// block holds a blocking query (one with an index) until the proxy gives
// up: nothing rotates during a benchmark.
func block(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Query().Get("index") == "" {
		w.Header().Set("X-Consul-Index", "1")
		return false
	}
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Minute):
	}
	return true
}

func (a *meshAgent) roots(w http.ResponseWriter, r *http.Request) {
	if block(w, r) {
		return
	}
	pub := *a.root
	pub.RootKey, pub.SigningKey, pub.SigningCert = "", "", ""
	pub.Active = true
	writeJSON(w, structs.CARootList{ActiveRootID: pub.ID, TrustDomain: a.domain, Roots: []*structs.CARoot{&pub}})
}

// leaf makes a key and a CSR and has mesh/ca sign it, as the node's leaf
// manager does (the key never leaves this process and the proxy).
func (a *meshAgent) leaf(w http.ResponseWriter, r *http.Request) {
	if block(w, r) {
		return
	}
	svc := r.PathValue("service")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	id := ca.ServiceID{TrustDomain: a.domain, Namespace: "default", Datacenter: "dc1", Service: svc}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{URIs: []*url.URL{id.URI()}}, key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	issued, err := ca.Sign(a.root, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})), id, 72*time.Hour, time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]any{
		"SerialNumber": issued.SerialNumber, "CertPEM": issued.CertPEM,
		"PrivateKeyPEM": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"Service":       svc, "ServiceURI": issued.ServiceURI, "ValidAfter": issued.ValidAfter, "ValidBefore": issued.ValidBefore,
	})
}

// authorize allows every pair: the default intention policy without
// intentions.
func (a *meshAgent) authorize(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"Authorized": true, "Reason": "Default behavior configured by ACLs"})
}

// health lists the destination proxy as the one passing instance of the
// destination's sidecar, and the application as passing.
func (a *meshAgent) health(w http.ResponseWriter, r *http.Request) {
	svc := r.PathValue("service")
	port := a.destPort
	if !strings.HasSuffix(svc, "-sidecar-proxy") {
		port = 1 // the application's own entry: only its passing matters
	}
	writeJSON(w, []map[string]any{{
		"Node":    map[string]any{"Node": "bench", "Address": "127.0.0.1"},
		"Service": map[string]any{"ID": "bench-" + svc, "Service": svc, "Address": "127.0.0.1", "Port": port},
		"Checks":  []any{},
	}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
